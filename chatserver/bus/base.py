"""The Bus interface and the event it carries."""

from __future__ import annotations

import itertools
import os
import secrets
from typing import Any, Protocol

import orjson


class SubscriptionOverflow(Exception):
    """The subscriber fell too far behind; it must reconnect and resume from the store."""


class _EventIds:
    """Ids unique across processes and machines: a random prefix per process, then a count."""

    def __init__(self) -> None:
        self.start_afresh()

    def start_afresh(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._count = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}-{next(self._count):x}"


_event_ids = _EventIds()
# A forked child would otherwise repeat its parent's ids, and its events be taken for duplicates.
os.register_at_fork(after_in_child=_event_ids.start_afresh)


class Event:
    """One frame for the sockets, encoded once however many sockets send it.

    `id` says which events are the same one: a fresh id for a new event, the original's
    for a copy rebuilt on the other side of a process boundary. It is not part of the frame."""

    __slots__ = ("_data", "frame", "id")

    def __init__(self, frame: dict[str, Any], event_id: str | None = None) -> None:
        self.frame = frame
        self.id = event_id if event_id is not None else _event_ids.next()
        self._data: bytes | None = None

    @property
    def type(self) -> str:
        return str(self.frame["type"])

    @property
    def data(self) -> bytes:
        """The frame as UTF-8 JSON, ready for a WebSocket text frame."""
        if self._data is None:
            self._data = orjson.dumps(self.frame)
        return self._data


class Subscription(Protocol):
    async def get(self) -> Event:
        """The next event, in publish order; raises SubscriptionOverflow when it fell behind
        (and again on every later call)."""
        ...

    def close(self) -> None:
        """Stop hearing the topics; closing twice is harmless."""
        ...


class Bus(Protocol):
    """Delivery guarantee, the same for every backend (tests/bus is its definition):

    - A subscription hears its topics from the moment `subscribe` returns: nothing
      published after that is missed.
    - Events published to a subscription's topics reach it in publish order, across all its
      topics, or its `get` raises SubscriptionOverflow: at most `capacity` events wait for
      it, and one more cuts it off. It gets a prefix of what was published, never a gap;
      other subscribers do not notice.
    - An event published to several topics one subscriber hears, one right after the other,
      reaches it once: a subscription drops an event whose id is the one it took last. Ids,
      not objects, decide, so this holds for copies rebuilt in another process.
    - After `close` (of the subscription or of the bus) nothing more arrives.

    Nothing is kept for subscribers that are not there: the store is the memory, the bus
    only the news."""

    def publish(self, topic: str, event: Event) -> None:
        """Never blocks: a slow subscriber is cut off, never waited for. Harmless on a topic
        nobody hears, and on a closed bus."""
        ...

    async def subscribe(self, topics: list[str], capacity: int = 256) -> Subscription:
        """A subscription to `topics`, confirmed by the time this returns (awaited, as a
        broker's confirmation must be: a socket subscribes, then reads what it missed)."""
        ...

    async def close(self) -> None:
        """Drop every subscription; closing twice is harmless."""
        ...
