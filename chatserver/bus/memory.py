"""The in-process bus: one server, no broker; a subscription is confirmed as it is made."""

from __future__ import annotations

import asyncio
from collections import deque

from chatserver.bus.base import Event, Offer, SubscriptionOverflow


class MemorySubscription:
    __slots__ = ("_bus", "_events", "_last_id", "_offer", "_waiter", "capacity", "overflowed",
                 "topics")

    def __init__(self, bus: MemoryBus, topics: list[str], capacity: int,
                 offer: Offer | None = None) -> None:
        self._bus = bus
        self._offer = offer
        self.topics = topics
        self.capacity = capacity
        self._events: deque[Event] | None = None  # made when needed: most sockets idle
        self._waiter: asyncio.Future[None] | None = None
        self._last_id: str | None = None
        self.overflowed = False

    def push(self, event: Event) -> None:
        if event.id == self._last_id:
            return  # the same event again, through another of its topics: heard once
        self._last_id = event.id
        if not self._events and self._offer is not None and self._offer(event):
            return
        if self._events is None:
            self._events = deque()
        if len(self._events) >= self.capacity:
            self.overflowed = True  # cut off rather than let one slow socket hold memory
            self._bus.unsubscribe(self)
        else:
            self._events.append(event)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Event:
        while not self._events:
            if self.overflowed:
                raise SubscriptionOverflow()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.overflowed:
            raise SubscriptionOverflow()
        event = self._events.popleft()
        if not self._events:
            self._events = None
        return event

    def close(self) -> None:
        self._bus.unsubscribe(self)


class MemoryBus:
    def __init__(self) -> None:
        self._topics: dict[str, set[MemorySubscription]] = {}

    def publish(self, topic: str, event: Event) -> None:
        for subscription in tuple(self._topics.get(topic, ())):
            subscription.push(event)

    async def subscribe(self, topics: list[str], capacity: int = 256,
                        offer: Offer | None = None) -> MemorySubscription:
        subscription = MemorySubscription(self, topics, capacity, offer)
        for topic in topics:
            self._topics.setdefault(topic, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: MemorySubscription) -> None:
        for topic in subscription.topics:
            members = self._topics.get(topic)
            if members is not None:
                members.discard(subscription)
                if not members:
                    del self._topics[topic]

    async def close(self) -> None:
        self._topics.clear()
