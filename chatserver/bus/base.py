"""The Bus interface and the event it carries."""

from __future__ import annotations

from typing import Any, Protocol

import orjson


class SubscriptionOverflow(Exception):
    """The subscriber fell too far behind; it must reconnect and resume from the store."""


class Event:
    """One frame for the sockets, encoded once however many sockets send it."""

    __slots__ = ("_text", "frame")

    def __init__(self, frame: dict[str, Any]) -> None:
        self.frame = frame
        self._text: str | None = None

    @property
    def type(self) -> str:
        return str(self.frame["type"])

    @property
    def text(self) -> str:
        """The frame as JSON text, ready for a WebSocket text frame."""
        if self._text is None:
            self._text = orjson.dumps(self.frame).decode()
        return self._text


class Subscription(Protocol):
    async def get(self) -> Event:
        """The next event, in publish order; raises SubscriptionOverflow when it fell behind."""
        ...

    def close(self) -> None: ...


class Bus(Protocol):
    """Delivery guarantee: events published to a topic reach each of its current subscribers
    in publish order, or that subscriber's `get` raises SubscriptionOverflow. An event
    published to several topics one subscriber hears, one right after the other, reaches it
    once. Nothing is
    kept for subscribers that are not there: the store is the memory, the bus only the news."""

    def publish(self, topic: str, event: Event) -> None:
        """Never blocks: a slow subscriber is cut off, never waited for."""
        ...

    def subscribe(self, topics: list[str], capacity: int = 256) -> Subscription: ...

    async def close(self) -> None: ...
