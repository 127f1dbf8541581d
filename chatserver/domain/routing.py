"""Who gets which conversation: the contract's five routing rules over plain data.

The `Router` holds the live routing picture (agents' presence and load, the queue, who has
what) and answers with decisions; the chat service persists and announces them. Time is
passed in, never read, so every rule is testable without a clock, a socket or a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class AgentSlot:
    """One agent as routing sees them."""

    id: int
    capacity: int
    status: str = "away"  # what the agent last chose: available | away
    connections: int = 0
    last_assigned: float = 0.0  # "idle longest" = longest since their last assignment
    disconnected_at: float | None = None
    conversations: set[int] = field(default_factory=set)

    @property
    def load(self) -> int:
        return len(self.conversations)

    @property
    def online(self) -> bool:
        return self.connections > 0

    @property
    def counts_as_online(self) -> bool:
        """What `agents_online` counts: available with at least one live connection."""
        return self.online and self.status == "available"

    @property
    def can_take(self) -> bool:
        return self.counts_as_online and self.load < self.capacity


@dataclass
class Waiting:
    """A queued conversation. `rank` orders the queue; `avoid` is an agent who sent it back."""

    conversation_id: int
    rank: float
    avoid: int | None = None


@dataclass(frozen=True)
class Assignment:
    conversation_id: int
    agent_id: int


class RoutingError(Exception):
    """A request routing refuses; `code` is the wire error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Router:
    def __init__(self) -> None:
        self.agents: dict[int, AgentSlot] = {}
        self.queue: list[Waiting] = []  # kept sorted by rank: first in, first out
        self.owner: dict[int, int] = {}  # conversation id -> agent id

    # --- agents -----------------------------------------------------------------------
    def agent(self, agent_id: int, capacity: int, status: str) -> AgentSlot:
        """The agent's slot, created on first sight; capacity and status refreshed."""
        slot = self.agents.get(agent_id)
        if slot is None:
            slot = self.agents[agent_id] = AgentSlot(agent_id, capacity, status)
        slot.capacity, slot.status = capacity, status
        return slot

    def connect(self, agent_id: int) -> None:
        slot = self.agents[agent_id]
        slot.connections += 1
        slot.disconnected_at = None

    def disconnect(self, agent_id: int, now: float) -> bool:
        """One connection gone; True when it was the agent's last (their grace period starts)."""
        slot = self.agents[agent_id]
        slot.connections = max(0, slot.connections - 1)
        if slot.connections == 0:
            slot.disconnected_at = now
            return True
        return False

    def grace_expired(self, agent_id: int, now: float, grace: float) -> bool:
        slot = self.agents.get(agent_id)
        return (slot is not None and not slot.online and slot.disconnected_at is not None
                and now - slot.disconnected_at >= grace)

    def agents_online(self) -> int:
        return sum(1 for a in self.agents.values() if a.counts_as_online)

    # --- the queue --------------------------------------------------------------------
    def enqueue(self, conversation_id: int, rank: float, avoid: int | None = None) -> None:
        self.queue.append(Waiting(conversation_id, rank, avoid))
        self.queue.sort(key=lambda w: w.rank)

    def front_rank(self, now: float) -> float:
        """A rank ahead of everyone waiting: requeued conversations go to the front."""
        return min([w.rank for w in self.queue] + [now]) - 1.0

    def positions(self) -> dict[int, int]:
        """Queue position by conversation: 1 is the next to be assigned."""
        return {w.conversation_id: i for i, w in enumerate(self.queue, start=1)}

    def is_queued(self, conversation_id: int) -> bool:
        return any(w.conversation_id == conversation_id for w in self.queue)

    # --- decisions --------------------------------------------------------------------
    def plan(self, now: float) -> list[Assignment]:
        """Assign queued conversations, oldest first, while anyone can take one (rules 1, 2, 4)."""
        made: list[Assignment] = []
        for waiting in list(self.queue):
            agent = self.pick(avoid=waiting.avoid) or self.pick()
            if agent is None:
                break
            self._give(waiting.conversation_id, agent, now)
            made.append(Assignment(waiting.conversation_id, agent.id))
        return made

    def pick(self, avoid: int | None = None) -> AgentSlot | None:
        """The least loaded agent who can take one more; on a tie, the one idle longest."""
        candidates = [a for a in self.agents.values() if a.can_take and a.id != avoid]
        return min(candidates, key=lambda a: (a.load, a.last_assigned, a.id), default=None)

    def claim(self, conversation_id: int, agent_id: int, now: float) -> None:
        if not self.is_queued(conversation_id):
            raise RoutingError("conflict", "that conversation is not waiting in the queue")
        self._give(conversation_id, self.agents[agent_id], now)

    def transfer(self, conversation_id: int, to_agent_id: int | None, now: float) -> int:
        """Move an active conversation to another agent, or back to the front of the queue
        (not straight back to the agent who let it go while another can take it). Returns
        the previous agent's id."""
        previous = self.owner.get(conversation_id)
        if previous is None:
            raise RoutingError("conflict", "that conversation is not assigned")
        if to_agent_id is not None:
            target = self.agents.get(to_agent_id)
            if target is None or not target.can_take or to_agent_id == previous:
                raise RoutingError("conflict", "that agent is away, full or unknown")
            self.release(conversation_id)
            self._give(conversation_id, target, now)
        else:
            self.release(conversation_id)
            self.enqueue(conversation_id, self.front_rank(now), avoid=previous)
        return previous

    def requeue_agent(self, agent_id: int, now: float) -> list[int]:
        """Rule 3: a gone agent's conversations go back to the front, in their old order."""
        slot = self.agents[agent_id]
        gone = sorted(slot.conversations)
        for conversation_id in reversed(gone):
            self.release(conversation_id)
            self.enqueue(conversation_id, self.front_rank(now))
        return gone

    def release(self, conversation_id: int) -> int | None:
        """Forget a conversation (closed, or leaving its agent); returns who had it."""
        self.queue = [w for w in self.queue if w.conversation_id != conversation_id]
        agent_id = self.owner.pop(conversation_id, None)
        if agent_id is not None:
            self.agents[agent_id].conversations.discard(conversation_id)
        return agent_id

    def restore(self, conversation_id: int, agent_id: int) -> None:
        """Load an assignment that already stands (at start-up)."""
        self.owner[conversation_id] = agent_id
        self.agents[agent_id].conversations.add(conversation_id)

    def _give(self, conversation_id: int, agent: AgentSlot, now: float) -> None:
        if conversation_id in self.owner:  # rule 5: never two agents
            raise RoutingError("conflict", "that conversation already has an agent")
        self.queue = [w for w in self.queue if w.conversation_id != conversation_id]
        self.owner[conversation_id] = agent.id
        agent.conversations.add(conversation_id)
        agent.last_assigned = now


def expected_wait(recent_waits: Sequence[float], position: int) -> int | None:
    """Seconds a visitor at `position` can expect to wait: the median of recent waits (how
    long the last visitors queued before an agent took them) for each place ahead of them
    and their own. None until there is a recent wait to go by."""
    if not recent_waits:
        return None
    ordered = sorted(recent_waits)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return round(median * position)
