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

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatserver.domain.models import Message

log = logging.getLogger(__name__)


@dataclass
class _Held:
    message: Message
    waits_for: set[int]
    announce: Callable[[], None]
    order: tuple[int, bool, int] = field(init=False)

    def __post_init__(self) -> None:  # a note is numbered apart: it goes after notes only
        private = self.message.seq is None
        self.order = (self.message.conversation_id, private,
                      (self.message.note_seq if private else self.message.seq) or 0)


class Announcer:
    def __init__(self) -> None:
        self._tickets = itertools.count()
        self._in_flight: set[int] = set()
        self._held: list[_Held] = []

    def start(self) -> int:
        """A write is sent: its ticket."""
        ticket = next(self._tickets)
        self._in_flight.add(ticket)
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
            self._held.append(_Held(message, set(self._in_flight), announce))
        self._release()

    def _release(self) -> None:
        while True:
            ready = [h for h in self._held if not h.waits_for & self._in_flight
                     and not any(o.order[:2] == h.order[:2] and o.order[2] < h.order[2]
                                 for o in self._held)]
            if not ready:
                return
            for held in sorted(ready, key=lambda h: h.order):
                self._held.remove(held)
                held.announce()


def _announce(on_commit: Callable[[Any], None], result: Any) -> None:
    try:  # even when the caller has gone: what is committed is announced
        on_commit(result)
    except Exception:
        log.exception("announcing a committed write failed")
