"""This process's subscriptions, by topic: what every backend hands its events to.

A subscription keeps at most `capacity` events waiting and is cut off by one more (or by its
backend losing the news, as when a broker connection drops); either way its `get` raises
SubscriptionOverflow from then on, and the socket resumes from the store."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from chatserver.bus.base import Event, Offer, SubscriptionOverflow


class LocalSubscription:
    __slots__ = ("_events", "_last_id", "_offer", "_topics", "_waiter", "capacity",
                 "overflowed", "topics")

    def __init__(self, registry: Topics, topics: list[str], capacity: int,
                 offer: Offer | None = None) -> None:
        self._topics = registry
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
            return  # taken at once (see Bus.subscribe): nothing waits ahead of it
        if self._events is None:
            self._events = deque()
        if len(self._events) >= self.capacity:
            self.cut_off()  # rather than let one slow socket hold memory
        else:
            self._events.append(event)
            self._wake()

    def cut_off(self) -> None:
        self.overflowed = True
        self._topics.remove(self)
        self._wake()

    def _wake(self) -> None:
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
        self._topics.remove(self)


class Topics:
    """Who hears each topic here. `emptied` learns of topics whose last subscriber left (a
    broker's backend stops hearing them)."""

    def __init__(self, emptied: Callable[[list[str]], None] | None = None) -> None:
        self._members: dict[str, set[LocalSubscription]] = {}
        self._emptied = emptied

    def subscribe(self, topics: list[str], capacity: int, offer: Offer | None = None
                  ) -> tuple[LocalSubscription, list[str]]:
        """A new subscription, and those of its topics nobody here heard before."""
        subscription = LocalSubscription(self, topics, capacity, offer)
        new = []
        for topic in topics:
            members = self._members.get(topic)
            if members is None:
                members = self._members[topic] = set()
                new.append(topic)
            members.add(subscription)
        return subscription, new

    def deliver(self, topic: str, event: Event) -> None:
        for subscription in tuple(self._members.get(topic, ())):
            subscription.push(event)

    def remove(self, subscription: LocalSubscription) -> None:
        emptied = []
        for topic in subscription.topics:
            members = self._members.get(topic)
            if members is not None and subscription in members:
                members.discard(subscription)
                if not members:
                    del self._members[topic]
                    emptied.append(topic)
        if emptied and self._emptied is not None:
            self._emptied(emptied)

    def cut_off_all(self) -> None:
        """Every subscription here overflows: what they would have heard is lost."""
        subscriptions = {s for members in self._members.values() for s in members}
        self._members.clear()
        for subscription in subscriptions:
            subscription.cut_off()

    def clear(self) -> None:
        """Drop every subscription: nothing more reaches them."""
        self._members.clear()
