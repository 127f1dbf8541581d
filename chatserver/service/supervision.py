"""So that no question disappears into the void: escalations to a supervisor, follow-ups
kept until done, and a watch that flags visitors left unanswered and follow-ups overdue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from chatserver.domain import clock
from chatserver.domain.clock import now
from chatserver.domain.errors import Refused
from chatserver.domain.models import Agent
from chatserver.service.agent_desk import AgentDesk
from chatserver.service.news import ConversationNews
from chatserver.store import Store
from chatserver.store.base import FollowUp

log = logging.getLogger(__name__)
WATCH_EVERY = 5.0  # seconds between two looks at waiting visitors and due follow-ups


def when(text: str) -> str:
    """`2026-11-26T17:00:00.000Z` as `Thu 26 Nov, 17:00 UTC`."""
    return datetime.fromtimestamp(clock.parse(text), UTC).strftime("%a %d %b, %H:%M UTC")


class Supervision:
    def __init__(self, store: Store, agent_desk: AgentDesk, news: ConversationNews,
                 unanswered_after: float) -> None:
        self.store = store
        self.agent_desk = agent_desk
        self.news = news
        self.unanswered_after = unanswered_after
        # alerts this process has claimed or seen claimed (see `_first`): not asked again
        self._raised: set[tuple[str, int, str]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _in_charge(self, agent: Agent, conversation_id: int) -> None:
        if not await self.agent_desk.in_charge(agent, conversation_id):
            raise Refused(403, "forbidden", "that conversation is not assigned to you")

    async def escalate(self, agent: Agent, conversation_id: int, note: str | None) -> None:
        """"Let me talk to someone in charge": every supervisor is told, the visitor too."""
        await self._in_charge(agent, conversation_id)
        message = await self.store.escalate(
            conversation_id, note, f"{agent.name} asked a supervisor to join the chat.",
            on_commit=self.news.system)
        visitor = self.agent_desk.visitor(conversation_id)
        self.news.announce.to_overseers({
            "type": "escalation", "conversation_id": conversation_id, "at": message.at,
            "by": {"id": agent.id, "name": agent.name}, "note": note,
            "visitor": visitor.public() if visitor else None}, agent.id)

    async def follow_up(self, agent: Agent, conversation_id: int, due_at: str,
                        note: str) -> FollowUp:
        """"I'll get back to you by ...": kept until done; the visitor is told when. The
        time must be in the future."""
        if due_at <= clock.iso(now()):
            raise Refused(422, "invalid", "due_at must be in the future")
        await self._in_charge(agent, conversation_id)
        found, _ = await self.store.add_follow_up(
            conversation_id, agent.id, due_at, note,
            f"{agent.name} will get back to you by {when(due_at)}.",
            on_commit=lambda added: self.news.system(added[1]))
        self.news.announce.to_agent(agent.id, {"type": "follow_up", "follow_up": found})
        return found

    async def follow_ups(self, agent: Agent, everyone: bool, include_done: bool
                         ) -> list[FollowUp]:
        """Follow-ups: the agent's own, or everyone's (for supervisors and admins only, else
        Refused 403)."""
        if everyone and not agent.can_oversee:
            raise Refused(403, "forbidden", "this is for supervisors and admins")
        return await self.store.follow_ups(None if everyone else agent.id, include_done)

    async def complete_follow_up(self, agent: Agent, follow_up_id: int) -> FollowUp:
        """Mark a follow-up done: the agent's own, or anyone's for supervisors and admins."""
        found = await self.store.follow_up(follow_up_id)
        if found["agent"]["id"] != agent.id and not agent.can_oversee:
            raise Refused(403, "forbidden", "that follow-up is someone else's")
        return await self.store.complete_follow_up(follow_up_id)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY)
            try:
                await self.look()
            except Exception:
                log.exception("the watch over waiting visitors failed")

    async def look(self) -> None:
        """Flag, once each, conversations whose visitor has waited unanswered too long and
        follow-ups past due, to their agent and the supervisors. Every server process looks;
        the store says which one raises each alert."""
        due: list[tuple[tuple[str, int, str], dict[str, Any], int | None]] = []
        late = await self.store.unanswered(clock.iso(now() - self.unanswered_after), 10_000)
        for row in late:
            since = row["unanswered_since"]
            if since is not None:  # a new wait (answered, then asked again) is a new alert
                due.append((("unanswered", row["id"], since),
                            {"type": "unanswered", "conversation": row},
                            row["agent"]["id"] if row["agent"] else None))
        for item in await self.store.follow_ups(agent_id=None, include_done=False):
            if item["overdue"]:
                due.append((("overdue", item["id"], item["due_at"]),
                            {"type": "follow_up", "follow_up": item}, item["agent"]["id"]))
        self._raised &= {alert for alert, _, _ in due}  # forget what is no longer due
        for alert, frame, agent_id in due:
            if await self._first(alert):
                self.news.announce.to_overseers(frame, agent_id)

    async def _first(self, alert: tuple[str, int, str]) -> bool:
        """Whether this process raises `alert`: the first to claim it in the store."""
        if alert in self._raised:
            return False
        self._raised.add(alert)
        return await self.store.claim_alert(*alert)
