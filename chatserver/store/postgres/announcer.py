"""Writes announced in seq order. With one writer (SQLite) commit order is the order results
come back in; with a pool of connections it is not: two messages of one conversation commit
in seq order (the row lock), yet their answers, on two sockets, may reach this process the
other way round. So each message-carrying write is announced (`on_commit`) only when no
write of this process that could come before it in its conversation is still unannounced:

- a write that committed before it holds a lower number; if it is this process's, it was
  in flight when this one came back, so this one waits until everything then in flight has
  come back;
- then it waits for those of its conversation, come back with a lower number, to go first.

Across processes the sockets fill gaps by seq (docs/architecture.md); this keeps one
process's own announcements in order, as SQLite's writer does.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatserver.domain.models import Message

log = logging.getLogger(__name__)

Group = tuple[int, bool]  # a conversation, and whether it is its notes' numbering


@dataclass(order=True)
class _Held:
    number: int
    waits_upto: int = field(compare=False)  # the last ticket in flight when it came back
    announce: Callable[[], None] = field(compare=False)


class Announcer:
    """Tickets count up, so "every write in flight when this one came back has come back"
    is "the oldest ticket still in flight is newer than the newest then": two heaps make
    each step a few comparisons, however many writes are in flight or held."""

    def __init__(self) -> None:
        self._tickets = itertools.count()
        self._last = -1  # the newest ticket given
        self._in_flight: set[int] = set()
        self._oldest: list[int] = []  # a heap of tickets, some no longer in flight
        self._held: dict[Group, list[_Held]] = {}  # each a heap, lowest number first
        self._heads: list[tuple[int, int, Group]] = []  # (waits_upto, number, group) heap

    def start(self) -> int:
        """A write is sent: its ticket."""
        ticket = self._last = next(self._tickets)
        self._in_flight.add(ticket)
        heapq.heappush(self._oldest, ticket)
        return ticket

    def failed(self, ticket: int) -> None:
        self._in_flight.discard(ticket)
        self._release()

    def committed(self, ticket: int, message: Message | None, result: Any,
                  on_commit: Callable[[Any], None] | None) -> None:
        """The write came back committed; `message` is what orders it (None: nothing)."""
        self._in_flight.discard(ticket)
        announce = (lambda: _announce(on_commit, result)) if on_commit else (lambda: None)
        if message is None:
            announce()
        else:
            private = message.seq is None
            group = (message.conversation_id, private)
            # those then in flight are all at most the newest ticket given
            held = _Held((message.note_seq if private else message.seq) or 0, self._last,
                         announce)
            queue = self._held.setdefault(group, [])
            heapq.heappush(queue, held)
            if queue[0] is held:  # a new head for its group
                heapq.heappush(self._heads, (held.waits_upto, held.number, group))
        self._release()

    def _release(self) -> None:
        oldest = self._oldest_in_flight()
        while self._heads and self._heads[0][0] < oldest:
            _, number, group = heapq.heappop(self._heads)
            queue = self._held.get(group)
            if not queue or queue[0].number != number:
                continue  # an entry for a head that has gone or been overtaken
            heapq.heappop(queue).announce()
            if queue:
                heapq.heappush(self._heads, (queue[0].waits_upto, queue[0].number, group))
            else:
                del self._held[group]

    def _oldest_in_flight(self) -> float:
        while self._oldest and self._oldest[0] not in self._in_flight:
            heapq.heappop(self._oldest)
        return self._oldest[0] if self._oldest else float("inf")


def _announce(on_commit: Callable[[Any], None], result: Any) -> None:
    try:  # even when the caller has gone: what is committed is announced
        on_commit(result)
    except Exception:
        log.exception("announcing a committed write failed")
