"""The SQLite store's methods for the console: inbox views and search, a visitor's other
conversations, escalation, follow-ups and canned responses (SQL in store/inbox.py)."""

from __future__ import annotations

from functools import partial

from chatserver.domain.models import Message
from chatserver.store import inbox
from chatserver.store.base import Canned, FollowUp, InboxEntry
from chatserver.store.sqlite_runs import Runs
from chatserver.store.writer import OnCommit


class ConsoleMethods(Runs):
    async def inbox(self, view: str, agent_id: int, oversee: bool, query: str | None,
                    limit: int) -> list[InboxEntry]:
        if query:  # the index is brought up to date once a second; a search sees everything
            await self.transaction(inbox.index_new_messages)
        return await self.read(partial(inbox.conversations, view=view, agent_id=agent_id,
                                       oversee=oversee, query=query, limit=limit))

    async def history(self, conversation_id: int) -> list[InboxEntry]:
        return await self.read(partial(inbox.history, conversation_id=conversation_id))

    async def escalate(self, conversation_id: int, note: str | None, announcement: str,
                       on_commit: OnCommit[Message] = None) -> Message:
        return await self.transaction(partial(inbox.escalate, conversation_id=conversation_id,
                                              note=note, announcement=announcement), on_commit)

    async def add_follow_up(self, conversation_id: int, agent_id: int, due_at: str,
                            note: str, announcement: str,
                            on_commit: OnCommit[tuple[FollowUp, Message]] = None
                            ) -> tuple[FollowUp, Message]:
        return await self.transaction(partial(
            inbox.add_follow_up, conversation_id=conversation_id, agent_id=agent_id,
            due_at=due_at, note=note, announcement=announcement), on_commit)

    async def follow_up(self, follow_up_id: int) -> FollowUp:
        return await self.read(partial(inbox.follow_up, follow_up_id=follow_up_id))

    async def follow_ups(self, agent_id: int | None, include_done: bool) -> list[FollowUp]:
        return await self.read(partial(inbox.follow_ups, agent_id=agent_id,
                                       include_done=include_done))

    async def complete_follow_up(self, follow_up_id: int) -> FollowUp:
        return await self.transaction(partial(inbox.complete_follow_up,
                                              follow_up_id=follow_up_id))

    async def canned(self) -> list[Canned]:
        return await self.read(inbox.canned)

    async def add_canned(self, shortcut: str, text: str) -> Canned:
        return await self.transaction(partial(inbox.add_canned, shortcut=shortcut, text=text))

    async def delete_canned(self, canned_id: int) -> None:
        await self.transaction(partial(inbox.delete_canned, canned_id=canned_id))
