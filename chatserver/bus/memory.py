"""The in-process bus: one server, no broker; a subscription is confirmed as it is made."""

from __future__ import annotations

from chatserver.bus.base import Event, Offer
from chatserver.bus.local import LocalSubscription, Topics


class MemoryBus:
    def __init__(self) -> None:
        self._topics = Topics()

    def publish(self, topic: str, event: Event) -> None:
        self._topics.deliver(topic, event)

    async def subscribe(self, topics: list[str], capacity: int = 256,
                        offer: Offer | None = None) -> LocalSubscription:
        return self._topics.subscribe(topics, capacity, offer)[0]

    async def close(self) -> None:
        self._topics.clear()
