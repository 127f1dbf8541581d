"""What the Desk tells: status frames to visitors, the queue and team frames to agents,
queue places and expected waits, each sent once the routing change that made it is
committed (`_later`)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from functools import partial

from chatserver.domain.models import Agent, Conversation, Visitor
from chatserver.domain.routing import Router, expected_wait
from chatserver.service.announcer import Announcer, status_frame
from chatserver.store.types import Changed


class DeskNews:
    router: Router
    announce: Announcer
    agents: dict[int, Agent]
    visitor_of: dict[int, Visitor]
    waiting_since: dict[int, str]
    _positions: dict[int, int]
    _recent_waits: deque[float]
    _news_pending: set[str]
    _after: list[Callable[[], None]] | None  # told once committed

    def _later(self, tell: Callable[[], None]) -> None:
        """Tell the parties once the routing change in progress is committed (now if none)."""
        if self._after is None:
            tell()
        else:
            self._after.append(tell)

    # --- news ---------------------------------------------------------------------------
    def visitor_changed(self, visitor: Visitor) -> None:
        """The visitor's record changed (a verified purchase named them): what agents are
        told from now on shows it."""
        for conversation_id, known in self.visitor_of.items():
            if known.id == visitor.id:
                self.visitor_of[conversation_id] = visitor
        self._queue_changed()

    def _announce_message(self, changed: Changed, visitor: Visitor | None,
                          agent_id: int | None) -> None:
        owner = self.router.owner.get(changed.message.conversation_id)
        agents = {a for a in (owner, agent_id) if a is not None}
        self.announce.message(changed.message, visitor.id if visitor else None, agents)

    def _status(self, conversation: Conversation, visitor_id: str | None = None) -> None:
        visitor = self.visitor_of.get(conversation.id)
        visitor_id = visitor_id or (visitor.id if visitor else None)
        if visitor_id is None:
            return
        position = self.router.positions().get(conversation.id)
        self._positions[conversation.id] = position or 0
        frame = status_frame(conversation.id, conversation.status, conversation.agent_name,
                             position, self.router.agents_online(),
                             self.expected_wait(position))
        self._later(lambda: self.announce.to_visitor(visitor_id, frame))
        owner = conversation.agent_id if conversation.status == "active" else None
        if owner is not None:
            self._later(lambda: self.announce.to_agent(owner, frame))
        self._queue_changed()

    def _announce_positions(self, force: bool = False) -> None:
        """Tell each queued visitor whose place changed (all of them when `force`)."""
        positions = self.router.positions()
        online = self.router.agents_online()
        for conversation_id, position in positions.items():
            if force or self._positions.get(conversation_id) != position:
                visitor = self.visitor_of.get(conversation_id)
                if visitor is not None:
                    frame = status_frame(conversation_id, "queued", None, position, online,
                                         self.expected_wait(position))
                    self._later(partial(self.announce.to_visitor, visitor.id, frame))
        if positions != {k: v for k, v in self._positions.items() if k in positions}:
            self._queue_changed()
        self._positions = dict(positions)

    def _queue_changed(self) -> None:
        self._news("queue")

    def announce_team(self) -> None:
        self._news("team")

    def _news(self, kind: str) -> None:
        """Coalesce `queue` and `team` news: one frame of each per turn of the event loop
        (once the routing change in progress, if any, is committed)."""
        if self._after is not None:
            self._after.append(lambda: self._news(kind))
            return
        if not self._news_pending:
            asyncio.get_running_loop().call_soon(self._send_news)
        self._news_pending.add(kind)

    def _send_news(self) -> None:
        pending, self._news_pending = self._news_pending, set()
        if "team" in pending:
            self.announce.to_agents(self.team_frame())
        if "queue" in pending:
            self.announce.to_agents(self.queue_frame())

    def queue_frame(self) -> dict[str, object]:
        return {"type": "queue", "conversations": [
            {"id": w.conversation_id,
             "visitor": self.visitor_of[w.conversation_id].public()
             if w.conversation_id in self.visitor_of else None,
             "waiting_since": self.waiting_since.get(w.conversation_id),
             "queue_position": position}
            for position, w in enumerate(self.router.queue, start=1)]}

    def team_frame(self) -> dict[str, object]:
        return {"type": "team", "agents": [
            {"id": a.id, "name": a.name, "role": a.role, "status": a.status,
             "online": self.router.agents[a.id].online,
             "load": self.router.agents[a.id].load, "capacity": a.capacity}
            for a in sorted(self.agents.values(), key=lambda a: a.name.lower())
            if not a.disabled]}

    def agents_online(self) -> int:
        return self.router.agents_online()

    def expected_wait(self, position: int | None) -> int | None:
        return expected_wait(self._recent_waits, position) if position else None

    def queue_position(self, conversation_id: int) -> int | None:
        return self.router.positions().get(conversation_id)

