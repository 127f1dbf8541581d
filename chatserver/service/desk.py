"""The routing desk: carries out the Router's decisions, keeps them on record, announces them.

Every change of who has what goes through one lock, in this order: the Router decides (in
memory), the store commits, the announcer tells the parties. So two decisions never
interleave. The store's writes are guarded too: one that finds the conversation changed
(by another process) is refused, and the desk takes the store's word for it and plans again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace

from chatserver.config import Settings
from chatserver.domain.clock import now
from chatserver.domain.models import Agent, Author, Conversation, Presence, Visitor
from chatserver.domain.routing import Assignment, Router, RoutingError, expected_wait
from chatserver.service.announcer import Announcer, assigned_frame, status_frame
from chatserver.store import Store
from chatserver.store.types import Changed, Stale

log = logging.getLogger(__name__)
RECENT_WAITS = 50  # the waits the expected wait is estimated from


class Desk:
    def __init__(self, settings: Settings, store: Store, announcer: Announcer) -> None:
        self.settings = settings
        self.store = store
        self.announce = announcer
        self.router = Router()
        self.lock = asyncio.Lock()
        self.agents: dict[int, Agent] = {}
        self.visitor_of: dict[int, Visitor] = {}  # open conversation id -> its visitor
        self.waiting_since: dict[int, str] = {}
        self._positions: dict[int, int] = {}
        self._grace: dict[int, asyncio.TimerHandle] = {}
        self._recent_waits: deque[float] = deque(maxlen=RECENT_WAITS)
        self._tasks: set[asyncio.Task[None]] = set()
        self._news_pending: set[str] = set()

    # --- start and stop -----------------------------------------------------------------
    async def start(self) -> None:
        """Rebuild the routing picture from the store; every agent starts disconnected, so
        the grace period starts now for each one who holds conversations (rule 3)."""
        self._recent_waits.extend(await self.store.recent_waits(RECENT_WAITS))
        for agent in await self.store.agents():
            self._know(agent)
        for conversation, rank in await self.store.open_conversations():
            visitor = await self.store.visitor(conversation.visitor_id)
            if visitor is not None:
                self.visitor_of[conversation.id] = visitor
            self.waiting_since[conversation.id] = conversation.waiting_since
            if conversation.status == "queued":
                self.router.enqueue(conversation.id, rank if rank is not None else now())
            elif conversation.agent_id in self.router.agents:
                self.router.restore(conversation.id, conversation.agent_id)
        self._positions = self.router.positions()
        for agent_id, slot in self.router.agents.items():
            if slot.conversations:
                self.router.disconnect(agent_id, now())  # stamps disconnected_at
                self._start_grace(agent_id)

    async def stop(self) -> None:
        for timer in self._grace.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- agents come and go -------------------------------------------------------------
    async def agent_connected(self, agent: Agent) -> None:
        async with self.lock:
            self._know(agent)
            self.router.connect(agent.id)
            timer = self._grace.pop(agent.id, None)
            if timer is not None:
                timer.cancel()
            await self._plan()
        self.announce_team()

    async def agent_disconnected(self, agent_id: int) -> None:
        async with self.lock:
            if self.router.disconnect(agent_id, now()):
                self._start_grace(agent_id)
        self.announce_team()
        self._announce_positions(force=True)

    async def set_presence(self, agent: Agent, status: Presence) -> Agent:
        await self.store.set_presence(agent.id, status)
        async with self.lock:
            agent = self._know(replace(agent, status=status))
            await self._plan()
        self.announce_team()
        self._announce_positions(force=True)
        return agent

    def _know(self, agent: Agent) -> Agent:
        self.agents[agent.id] = agent
        self.router.agent(agent.id, agent.capacity, agent.status)
        return agent

    def _start_grace(self, agent_id: int) -> None:
        loop = asyncio.get_running_loop()
        self._grace[agent_id] = loop.call_later(
            self.settings.grace_seconds, self.spawn, lambda: self._grace_over(agent_id))

    async def _grace_over(self, agent_id: int) -> None:
        async with self.lock:
            self._grace.pop(agent_id, None)
            # the loop's timer runs on a monotonic clock: allow it to fire a hair early
            # by the wall clock the Router measures with
            if not self.router.grace_expired(agent_id, now() + 0.05,
                                             self.settings.grace_seconds):
                return
            await self._requeue_all(agent_id)
        self.announce_team()

    async def agent_changed(self, agent: Agent) -> None:
        """An admin changed an agent: new capacity counts at once; a disabled agent's
        conversations go back to the front of the queue now, not after a grace period."""
        async with self.lock:
            self._know(replace(agent, status="away") if agent.disabled else agent)
            if agent.disabled:
                await self._requeue_all(agent.id)
            else:
                await self._plan()
        self.announce_team()

    async def _requeue_all(self, agent_id: int) -> None:
        for conversation_id in self.router.requeue_agent(agent_id, now()):
            await self._requeue(conversation_id, agent_id, "requeued",
                                "Your agent was disconnected; you are back at the front "
                                "of the queue.")
        await self._plan()

    # --- conversations ------------------------------------------------------------------
    def opened(self, conversation: Conversation, visitor: Visitor) -> None:
        """A visitor's message opened a conversation (called at its commit): queue it, and
        route at once (rule 2) without holding up the visitor's `ack`."""
        self.visitor_of[conversation.id] = visitor
        self.waiting_since[conversation.id] = conversation.waiting_since
        self.spawn(lambda: self._route_new(conversation))

    async def _route_new(self, conversation: Conversation) -> None:
        async with self.lock:
            self.router.enqueue(conversation.id, now())
            self._status(conversation)
            await self._plan()

    async def claim(self, conversation_id: int, agent: Agent) -> None:
        async with self.lock:
            self._know(agent)
            self.router.claim(conversation_id, agent.id, now())
            claimed = await self._commit_assignment(Assignment(conversation_id, agent.id))
            self._announce_positions()
        if not claimed:
            raise RoutingError("conflict", "that conversation is not waiting in the queue")

    async def transfer(self, conversation_id: int, agent: Agent, to_agent_id: int | None) -> None:
        async with self.lock:
            self._owned_by(conversation_id, agent)
            self.router.transfer(conversation_id, to_agent_id, now())
            if to_agent_id is None:
                moved = await self._requeue(
                    conversation_id, agent.id, "transferred",
                    f"{agent.name} passed the chat on; you are next in line.")
            else:
                moved = await self._commit_assignment(Assignment(conversation_id, to_agent_id),
                                                      verb="took over the chat",
                                                      from_agent=agent.id)
            await self._plan()
        self.announce_team()
        if not moved:
            raise RoutingError("conflict", "that conversation is no longer assigned to you")

    async def close(self, conversation_id: int, by: Author) -> None:
        async with self.lock:
            agent_id = self.router.owner.get(conversation_id)
            visitor = self.visitor_of.get(conversation_id)
            note = "The visitor ended the chat." if by.role == "visitor" else (
                f"{by.name} closed the chat.")
            try:
                changed = await self.store.close_conversation(
                    conversation_id, by.role, note,
                    on_commit=lambda c: self._announce_message(c, visitor, agent_id))
            except Stale as error:
                self._adopt(conversation_id, error.current)
                raise RoutingError("conflict", str(error)) from None
            self.router.release(conversation_id)
            self.visitor_of.pop(conversation_id, None)
            self.waiting_since.pop(conversation_id, None)
            if visitor is not None:
                self._status(changed.conversation, visitor.id)
            if agent_id is not None:
                self.announce.to_agent(agent_id, {"type": "unassigned", "reason": "closed",
                                                  "conversation_id": conversation_id})
            await self._plan()
        self.announce_team()

    def visitor_changed(self, visitor: Visitor) -> None:
        """The visitor's record changed (a verified purchase named them): what agents are
        told from now on shows it."""
        for conversation_id, known in self.visitor_of.items():
            if known.id == visitor.id:
                self.visitor_of[conversation_id] = visitor
        self._queue_changed()

    def owner(self, conversation_id: int) -> int | None:
        return self.router.owner.get(conversation_id)

    def _owned_by(self, conversation_id: int, agent: Agent) -> None:
        if self.router.owner.get(conversation_id) != agent.id:
            raise RoutingError("forbidden", "that conversation is not assigned to you")

    # --- decisions into records ---------------------------------------------------------
    async def _plan(self) -> None:
        """Assign whatever can be assigned now, planning again while the store refuses some
        (an agent the Router counted on has room again); the caller holds the lock."""
        planned = self.router.plan(now())
        while planned:
            refused = [a for a in planned if not await self._commit_assignment(a)]
            planned = self.router.plan(now()) if refused else []
        self._announce_positions()

    async def _commit_assignment(self, assignment: Assignment, verb: str = "joined the chat",
                                 from_agent: int | None = None) -> bool:
        """Give the conversation to the agent (a queued one, or one still `from_agent`'s);
        False when the store refused, having changed nothing and announced nothing."""
        agent = self.agents[assignment.agent_id]
        visitor = self.visitor_of.get(assignment.conversation_id)

        def announce(changed: Changed) -> None:
            if from_agent is not None:
                self.announce.to_agent(from_agent, {
                    "type": "unassigned", "reason": "transferred",
                    "conversation_id": assignment.conversation_id})
            self._announce_message(changed, visitor, None)
            self.announce.to_agent(agent.id, assigned_frame(
                changed.conversation, changed.visitor, list(changed.transcript)))
        try:
            changed = await self.store.assign(assignment.conversation_id, agent.id,
                                              f"{agent.name} {verb}.", from_agent=from_agent,
                                              on_commit=announce)
        except Stale as refused:
            self._adopt(assignment.conversation_id, refused.current)
            return False
        if changed.waited is not None:  # a transfer is no new wait
            self._recent_waits.append(changed.waited)
        self._status(changed.conversation)
        self.announce_team()
        return True

    async def _requeue(self, conversation_id: int, agent_id: int, reason: str, note: str
                       ) -> bool:
        """Send the agent's conversation back to the queue (the Router has put it there);
        False when the store refused, having changed nothing."""
        rank = next(w.rank for w in self.router.queue if w.conversation_id == conversation_id)
        visitor = self.visitor_of.get(conversation_id)
        try:
            changed = await self.store.requeue(
                conversation_id, agent_id, rank, note,
                on_commit=lambda c: self._announce_message(c, visitor, None))
        except Stale as refused:
            self._adopt(conversation_id, refused.current)
            return False
        self.announce.to_agent(agent_id, {"type": "unassigned", "reason": reason,
                                          "conversation_id": conversation_id})
        self._status(changed.conversation)
        return True

    def _adopt(self, conversation_id: int, current: Conversation | None) -> None:
        """The store refused a change planned on an old picture (another process changed
        the conversation): route from what the store holds instead."""
        self.router.release(conversation_id)
        if current is None or current.status == "closed":
            self.visitor_of.pop(conversation_id, None)
            self.waiting_since.pop(conversation_id, None)
        elif current.status == "queued":  # sent back by its agent: that is the front (rule 3)
            self.router.enqueue(conversation_id, self.router.front_rank(now()))
        elif current.agent_id is not None and current.agent_id in self.router.agents:
            self.router.restore(conversation_id, current.agent_id)

    # --- news ---------------------------------------------------------------------------
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
        self.announce.to_visitor(visitor_id, frame)
        owner = conversation.agent_id if conversation.status == "active" else None
        if owner is not None:
            self.announce.to_agent(owner, frame)
        self._queue_changed()

    def _announce_positions(self, force: bool = False) -> None:
        """Tell each queued visitor whose place changed (all of them when `force`)."""
        positions = self.router.positions()
        online = self.router.agents_online()
        for conversation_id, position in positions.items():
            if force or self._positions.get(conversation_id) != position:
                visitor = self.visitor_of.get(conversation_id)
                if visitor is not None:
                    self.announce.to_visitor(visitor.id, status_frame(
                        conversation_id, "queued", None, position, online,
                        self.expected_wait(position)))
        if positions != {k: v for k, v in self._positions.items() if k in positions}:
            self._queue_changed()
        self._positions = dict(positions)

    def _queue_changed(self) -> None:
        self._news("queue")

    def announce_team(self) -> None:
        self._news("team")

    def _news(self, kind: str) -> None:
        """Coalesce `queue` and `team` news: one frame of each per turn of the event loop."""
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

    def spawn(self, make: Callable[[], Awaitable[None]]) -> None:
        async def run() -> None:
            try:
                await make()
            except Exception:
                log.exception("a routing task failed")
        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
