"""The routing desk: carries out the Router's decisions, keeps them on record, announces them.

Every change of who has what, in any server process, is one routing transaction
(`Store.routing`): under the routing lock the desk loads the database's picture into the
Router, writes the Router's decisions (guarded writes), and once committed tells the parties
and publishes routing news with the new version. Desks of other processes refresh their
caches (owners, visitors, queue places) from that news: the message path reads memory.
Presence lives in the database: connections per process, heartbeats (ServerLife).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace

from chatserver.config import Settings
from chatserver.domain.models import Agent, Author, Conversation, Presence, Visitor
from chatserver.domain.routing import Assignment, Router, RoutingError
from chatserver.service.announcer import Announcer, assigned_frame
from chatserver.service.desk_news import DeskNews
from chatserver.service.routing_picture import router_of
from chatserver.service.server_life import DEAD_AFTER, HEARTBEAT_SECONDS, ServerLife
from chatserver.store import Store
from chatserver.store.base import Routing
from chatserver.store.types import Changed, Picture, Stale

log = logging.getLogger(__name__)
RECENT_WAITS = 50  # the waits the expected wait is estimated from
EARLY = 0.05  # a grace timer (monotonic) may fire this much early by the database clock


class Desk(DeskNews):
    def __init__(self, settings: Settings, store: Store, announcer: Announcer,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS,
                 dead_after: float = DEAD_AFTER) -> None:
        self.settings = settings
        self.store = store
        self.announce = announcer
        self.router = Router()
        self.lock = asyncio.Lock()  # this process's routing changes and refreshes
        self.agents: dict[int, Agent] = {}
        self.visitor_of: dict[int, Visitor] = {}  # open conversation id -> its visitor
        self.waiting_since: dict[int, str] = {}
        self.version = 0  # of the routing picture the caches show
        self.now = 0.0  # the database clock, as the last picture read it
        self.life = ServerLife(self, heartbeat_seconds, dead_after)
        self.local: Counter[int] = Counter()  # this process's live connections, by agent
        self._open: set[int] = set()
        self._positions: dict[int, int] = {}
        self._grace: dict[int, asyncio.TimerHandle] = {}
        self._recent_waits: deque[float] = deque(maxlen=RECENT_WAITS)
        self._tasks: set[asyncio.Task[None]] = set()
        self._news_pending: set[str] = set()
        self._after: list[Callable[[], None]] | None = None  # told once committed
        self._wrote = False

    # --- start and stop -----------------------------------------------------------------
    async def start(self) -> None:
        """Join the routing of every process on this database: register, read the picture
        (no agent connected through another process is disturbed), hear routing news."""
        self._recent_waits.extend(await self.store.recent_waits(RECENT_WAITS))
        await self.life.start()

    async def stop(self) -> None:
        """Leave: this process's connections go (their agents' grace starts, for the
        other processes to see through)."""
        await self.life.stop()
        for timer in self._grace.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- the routing transaction and the caches -----------------------------------------
    @asynccontextmanager
    async def routing(self) -> AsyncIterator[Routing]:
        """One routing change: the picture loaded under the routing lock, the caller's
        decisions written, then (committed) the parties told and the news published."""
        async with self.lock:
            self._after, self._wrote = [], False
            try:
                async with self.store.routing() as tx:
                    await self._load(await tx.picture())
                    yield tx
            finally:
                after, self._after = self._after, None
            for tell in after:
                tell()
            self._arm_grace()
        if self._wrote:
            self.life.publish(tx.version)

    async def refresh(self, version: int) -> None:
        """Routing news from a process: read the picture when it is newer than ours."""
        async with self.lock:
            if version <= self.version:
                return
            await self._load(await self.store.routing_picture())
            self._positions = self.router.positions()
            self._arm_grace()

    async def _load(self, picture: Picture) -> None:
        """The caches from the picture: the visitors of new conversations read first, so
        the owners never show a conversation whose visitor is not known yet."""
        for conversation, _rank in picture.open:
            if conversation.id not in self.visitor_of:
                visitor = await self.store.visitor(conversation.visitor_id)
                if visitor is not None:
                    self.visitor_of[conversation.id] = visitor
        self.router = router_of(picture)
        self.version, self.now = max(self.version, picture.version), picture.now
        self.agents = {a.id: a for a in picture.agents}
        open_ids = {c.id for c, _rank in picture.open}
        for closed in self._open - open_ids:
            self.visitor_of.pop(closed, None)
            self.waiting_since.pop(closed, None)
        self._open = open_ids
        for conversation, _rank in picture.open:
            self.waiting_since[conversation.id] = conversation.waiting_since

    def _arm_grace(self) -> None:
        """A timer for each agent whose grace period runs (rule 3), wherever they were
        connected; none for those back online."""
        loop = asyncio.get_running_loop()
        for agent_id, slot in self.router.agents.items():
            timer = self._grace.get(agent_id)
            if slot.online or not slot.conversations or slot.disconnected_at is None:
                if timer is not None:
                    self._grace.pop(agent_id).cancel()
            elif timer is None:
                delay = max(0.0, slot.disconnected_at + self.settings.grace_seconds - self.now)
                self._grace[agent_id] = loop.call_later(
                    delay, self.spawn, lambda a=agent_id: self._grace_over(a))

    # --- agents come and go -------------------------------------------------------------
    async def agent_connected(self, agent: Agent) -> None:
        async with self.routing() as tx:
            await self._connect(tx, agent.id)
            await self._plan(tx)
        self.announce_team()

    async def _connect(self, tx: Routing, agent_id: int) -> None:
        assert self.life.process_id is not None, "the desk is not started"
        await tx.connect(self.life.process_id, agent_id)
        self.local[agent_id] += 1
        self.router.connect(agent_id)
        self._wrote = True

    async def agent_disconnected(self, agent_id: int) -> None:
        async with self.routing() as tx:
            assert self.life.process_id is not None, "the desk is not started"
            self.local[agent_id] -= 1
            if await tx.disconnect(self.life.process_id, agent_id):
                self.router.agents[agent_id].connections = 0
                self.router.agents[agent_id].disconnected_at = tx.now
            self._wrote = True
            self._announce_positions(force=True)
        self.announce_team()

    async def set_presence(self, agent: Agent, status: Presence) -> Agent:
        async with self.routing() as tx:
            await tx.set_presence(agent.id, status)
            agent = self._know(replace(self.agents.get(agent.id, agent), status=status))
            self._wrote = True
            await self._plan(tx)
            self._announce_positions(force=True)
        self.announce_team()
        return agent

    async def sweep(self, dead_after: float, restarted: bool = False) -> None:
        """Forget the processes silent for `dead_after` seconds (and, `restarted`, this
        server's earlier self): their agents' grace starts. Carry out any grace period that
        ran out while nobody's timer watched it."""
        async with self.routing() as tx:
            assert self.life.process_id is not None, "the desk is not started"
            replaced = await tx.replace_process(self.life.process_id) if restarted else []
            if await tx.reap(dead_after) or replaced:
                self._wrote = True
                await self._load(await tx.picture())
                # its agents are offline now (or in grace): everyone is told, once
                self._announce_positions(force=True)
                self.announce_team()
            for agent_id, slot in list(self.router.agents.items()):
                if slot.conversations and self.router.grace_expired(
                        agent_id, self.now + EARLY, self.settings.grace_seconds):
                    await self._requeue_all(tx, agent_id)
            await self._plan(tx)

    async def reconnect_all(self) -> None:
        """This process was taken for dead meanwhile: its connections are recorded again."""
        async with self.routing() as tx:
            for agent_id, count in list(self.local.items()):
                for _ in range(count):
                    self.local[agent_id] -= 1
                    await self._connect(tx, agent_id)
            await self._plan(tx)

    async def end_process(self, process_id: int) -> None:
        async with self.routing() as tx:
            await tx.end_process(process_id)
            self._wrote = True

    def _know(self, agent: Agent) -> Agent:
        self.agents[agent.id] = agent
        self.router.agent(agent.id, agent.capacity, agent.status)
        return agent

    async def _grace_over(self, agent_id: int) -> None:
        self._grace.pop(agent_id, None)
        async with self.routing() as tx:
            if self.router.grace_expired(agent_id, self.now + EARLY,
                                         self.settings.grace_seconds):
                await self._requeue_all(tx, agent_id)
        self.announce_team()

    async def agent_changed(self, agent: Agent) -> None:
        """An admin changed an agent: new capacity counts at once; a disabled agent's
        conversations go back to the front of the queue now, not after a grace period."""
        async with self.routing() as tx:
            self._know(replace(agent, status="away") if agent.disabled else agent)
            if agent.disabled:
                await self._requeue_all(tx, agent.id)
            else:
                await self._plan(tx)
        self.announce_team()

    async def _requeue_all(self, tx: Routing, agent_id: int) -> None:
        for conversation_id in self.router.requeue_agent(agent_id, self.now):
            await self._requeue(tx, conversation_id, agent_id, "requeued",
                                "Your agent was disconnected; you are back at the front "
                                "of the queue.")
        await self._plan(tx)

    # --- conversations ------------------------------------------------------------------
    def opened(self, conversation: Conversation, visitor: Visitor) -> None:
        """A visitor's message opened a conversation (called at its commit): queue it, and
        route at once (rule 2) without holding up the visitor's `ack`."""
        self.visitor_of[conversation.id] = visitor
        self.waiting_since[conversation.id] = conversation.waiting_since
        self.spawn(lambda: self._route_new(conversation))

    async def _route_new(self, conversation: Conversation) -> None:
        async with self.routing() as tx:
            # the picture holds it (committed), queued or already routed by another process
            if conversation.id in self.router.positions():
                self._status(conversation)
                await self._plan(tx)
            self._wrote = True

    async def claim(self, conversation_id: int, agent: Agent) -> None:
        async with self.routing() as tx:
            self.router.claim(conversation_id, agent.id, self.now)
            claimed = await self._commit_assignment(tx, Assignment(conversation_id, agent.id))
            self._announce_positions()
        if not claimed:
            raise RoutingError("conflict", "that conversation is not waiting in the queue")

    async def transfer(self, conversation_id: int, agent: Agent, to_agent_id: int | None) -> None:
        was_theirs = self.owner(conversation_id) == agent.id  # as far as this process knew
        async with self.routing() as tx:
            if self.router.owner.get(conversation_id) != agent.id:
                raise RoutingError("conflict", "that conversation is no longer assigned to "
                                   "you") if was_theirs else RoutingError(
                    "forbidden", "that conversation is not assigned to you")
            self.router.transfer(conversation_id, to_agent_id, self.now)
            if to_agent_id is None:
                await self._requeue(tx, conversation_id, agent.id, "transferred",
                                    f"{agent.name} passed the chat on; you are next in line.")
            else:
                await self._commit_assignment(tx, Assignment(conversation_id, to_agent_id),
                                              verb="took over the chat", from_agent=agent.id)
            await self._plan(tx)
        self.announce_team()

    async def close(self, conversation_id: int, by: Author) -> None:
        async with self.routing() as tx:
            agent_id = self.router.owner.get(conversation_id)
            visitor = self.visitor_of.get(conversation_id)
            note = "The visitor ended the chat." if by.role == "visitor" else (
                f"{by.name} closed the chat.")
            try:
                changed = await tx.close_conversation(
                    conversation_id, by.role, note,
                    on_commit=lambda c: self._announce_message(c, visitor, agent_id))
            except Stale as error:
                raise RoutingError("conflict", str(error)) from None
            self._wrote = True
            self.router.release(conversation_id)
            self._open.discard(conversation_id)
            self.visitor_of.pop(conversation_id, None)
            self.waiting_since.pop(conversation_id, None)
            if visitor is not None:
                self._status(changed.conversation, visitor.id)
            if agent_id is not None:
                self._later(lambda: self.announce.to_agent(agent_id, {
                    "type": "unassigned", "reason": "closed",
                    "conversation_id": conversation_id}))
            await self._plan(tx)
        self.announce_team()

    def owner(self, conversation_id: int) -> int | None:
        return self.router.owner.get(conversation_id)

    async def owns(self, conversation_id: int, agent_id: int) -> bool:
        """The cache's yes, or on a no the store's word: another process's routing news may
        come a moment after the agent's own frame (they act on an `assigned` at once)."""
        if self.owner(conversation_id) == agent_id:
            return True
        current = await self.store.conversation(conversation_id)
        return current is not None and current.status == "active" and (
            current.agent_id == agent_id)

    # --- decisions into records (inside a routing transaction) ---------------------------
    async def _plan(self, tx: Routing) -> None:
        """Assign whatever can be assigned now, planning again while the store refuses some
        (an agent the Router counted on has room again)."""
        planned = self.router.plan(self.now)
        while planned:
            refused = [a for a in planned if not await self._commit_assignment(tx, a)]
            planned = self.router.plan(self.now) if refused else []
        self._announce_positions()

    async def _commit_assignment(self, tx: Routing, assignment: Assignment,
                                 verb: str = "joined the chat",
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
                changed.conversation, changed.visitor, list(changed.transcript),
                self.announce.link))
        try:
            changed = await tx.assign(assignment.conversation_id, agent.id,
                                      f"{agent.name} {verb}.", from_agent=from_agent,
                                      on_commit=announce)
        except Stale as refused:
            self._adopt(assignment.conversation_id, refused.current)
            return False
        self._wrote = True
        if changed.waited is not None:  # a transfer is no new wait
            self._recent_waits.append(changed.waited)
        self._status(changed.conversation)
        self.announce_team()
        return True

    async def _requeue(self, tx: Routing, conversation_id: int, agent_id: int, reason: str,
                       note: str) -> bool:
        """Send the agent's conversation back to the queue (the Router has put it there);
        False when the store refused, having changed nothing."""
        rank = next(w.rank for w in self.router.queue if w.conversation_id == conversation_id)
        visitor = self.visitor_of.get(conversation_id)
        try:
            changed = await tx.requeue(
                conversation_id, agent_id, rank, note,
                on_commit=lambda c: self._announce_message(c, visitor, None))
        except Stale as refused:
            self._adopt(conversation_id, refused.current)
            return False
        self._wrote = True
        self._later(lambda: self.announce.to_agent(agent_id, {
            "type": "unassigned", "reason": reason, "conversation_id": conversation_id}))
        self._status(changed.conversation)
        return True

    def _adopt(self, conversation_id: int, current: Conversation | None) -> None:
        """The store refused a change the Router planned (the routing lock makes that a
        fault, not a race): route from what the store holds instead."""
        self.router.release(conversation_id)
        if current is None or current.status == "closed":
            self.visitor_of.pop(conversation_id, None)
            self.waiting_since.pop(conversation_id, None)
        elif current.status == "queued":
            self.router.enqueue(conversation_id, self.router.front_rank(self.now))
        elif current.agent_id is not None and current.agent_id in self.router.agents:
            self.router.restore(conversation_id, current.agent_id)

    def spawn(self, make: Callable[[], Awaitable[None]]) -> None:
        async def run() -> None:
            try:
                await make()
            except Exception:
                log.exception("a routing task failed")
        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
