"""What the console and the REST API read beside the live chats: inbox views and search, a
conversation's record, canned responses and the reports' facts."""

from __future__ import annotations

from datetime import date
from typing import Any

from chatserver.domain.errors import Refused
from chatserver.domain.models import Agent, Conversation, Message
from chatserver.service.desk import Desk
from chatserver.store import Store
from chatserver.store.base import Canned, InboxEntry, ReportFacts


class Console:
    def __init__(self, store: Store, desk: Desk) -> None:
        self.store = store
        self.desk = desk

    async def inbox(self, view: str, agent: Agent, query: str | None,
                    limit: int) -> list[InboxEntry]:
        """A view of the conversations `agent` may see (every open one: supervisors and
        admins only, else Refused 403)."""
        if view == "open" and not agent.can_oversee:
            raise Refused(403, "forbidden", "this is for supervisors and admins")
        return await self.store.inbox(view, agent.id, agent.can_oversee, query, limit)

    async def conversation(self, conversation_id: int) -> Conversation | None:
        return await self.store.conversation(conversation_id)

    async def transcript(self, conversation_id: int
                         ) -> tuple[Conversation, list[Message]] | None:
        """A conversation and all its messages, notes too; None if there is no such one."""
        conversation = await self.store.conversation(conversation_id)
        if conversation is None:
            return None
        return conversation, await self.store.messages(conversation_id, 0, notes=True)

    async def record(self, conversation: Conversation) -> dict[str, Any]:
        """A conversation as the REST API shows it: where it stands, who asked, and the
        visitor's past conversations."""
        visitor = await self.store.visitor(conversation.visitor_id)
        public = conversation.public(self.desk.queue_position(conversation.id))
        public.update({"visitor": visitor.public() if visitor else None,
                       "customer_id": conversation.customer_id,
                       "agent_id": conversation.agent_id, "created_at": conversation.created_at,
                       "closed_at": conversation.closed_at})
        return {"conversation": public, "history": await self.store.history(conversation.id)}

    def transfer_targets(self, agent_id: int) -> list[dict[str, Any]]:
        """The agents a chat of `agent_id` may go to now: online, available, with room."""
        team: list[dict[str, Any]] = self.desk.team_frame()["agents"]  # type: ignore[assignment]
        return [a for a in team if a["id"] != agent_id and a["online"]
                and a["status"] == "available" and a["load"] < a["capacity"]]

    def queue_position(self, conversation_id: int) -> int | None:
        return self.desk.queue_position(conversation_id)

    async def canned(self) -> list[Canned]:
        return await self.store.canned()

    async def add_canned(self, shortcut: str, text: str) -> Canned:
        return await self.store.add_canned(shortcut, text)

    async def delete_canned(self, canned_id: int) -> None:
        await self.store.delete_canned(canned_id)

    async def report_facts(self, first: date, last: date) -> ReportFacts:
        return await self.store.report_facts(first, last)
