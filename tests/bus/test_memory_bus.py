"""The in-process bus: publish order, independent topics, slow subscribers cut off."""

from __future__ import annotations

import asyncio

import pytest

from chatserver.bus import Event, SubscriptionOverflow, open_bus
from chatserver.bus.memory import MemoryBus, MemorySubscription


def event(n: int, kind: str = "message") -> Event:
    return Event({"type": kind, "n": n})


async def drain(subscription: MemorySubscription, count: int) -> list[int]:
    return [(await asyncio.wait_for(subscription.get(), 1)).frame["n"] for _ in range(count)]


async def nothing_arrives(subscription: MemorySubscription) -> bool:
    try:
        await asyncio.wait_for(subscription.get(), 0.1)
    except TimeoutError:
        return True
    return False


def test_the_default_bus_url_gives_the_memory_bus() -> None:
    assert isinstance(open_bus("memory://"), MemoryBus)
    with pytest.raises(ValueError, match="unsupported bus URL"):
        open_bus("kafka://somewhere")


async def test_events_arrive_in_publish_order() -> None:
    bus = MemoryBus()
    subscription = bus.subscribe(["visitor:1"])
    for n in range(100):
        bus.publish("visitor:1", event(n))
    assert await drain(subscription, 100) == list(range(100))


async def test_a_waiting_subscriber_wakes_for_each_event() -> None:
    bus = MemoryBus()
    subscription = bus.subscribe(["visitor:1"])
    received: list[int] = []

    async def reader() -> None:
        for _ in range(5):
            received.append((await subscription.get()).frame["n"])

    task = asyncio.ensure_future(reader())
    for n in range(5):
        await asyncio.sleep(0.01)  # the reader is waiting each time
        bus.publish("visitor:1", event(n))
    await asyncio.wait_for(task, 1)
    assert received == [0, 1, 2, 3, 4]


async def test_one_subscription_to_several_topics_gets_them_in_publish_order() -> None:
    bus = MemoryBus()
    subscription = bus.subscribe(["agent:1", "agent:2"])
    for n in range(20):
        bus.publish("agent:1" if n % 3 else "agent:2", event(n))
    assert await drain(subscription, 20) == list(range(20))


async def test_topics_are_independent() -> None:
    bus = MemoryBus()
    vera, walt = bus.subscribe(["visitor:vera"]), bus.subscribe(["visitor:walt"])
    bus.publish("visitor:vera", event(1))
    bus.publish("visitor:walt", event(2))
    bus.publish("visitor:nobody", event(3))  # no subscriber: dropped, no error
    assert await drain(vera, 1) == [1]
    assert await drain(walt, 1) == [2]
    assert await nothing_arrives(vera)
    assert await nothing_arrives(walt)


async def test_every_subscriber_of_a_topic_gets_every_event() -> None:
    bus = MemoryBus()
    tabs = [bus.subscribe(["visitor:1"]) for _ in range(3)]
    for n in range(10):
        bus.publish("visitor:1", event(n))
    for tab in tabs:
        assert await drain(tab, 10) == list(range(10))


async def test_a_subscriber_that_stops_reading_is_cut_off_while_a_fast_one_gets_everything(
        ) -> None:
    bus = MemoryBus()
    slow = bus.subscribe(["visitor:1"], capacity=5)
    fast = bus.subscribe(["visitor:1"], capacity=5)
    fast_got: list[int] = []
    for n in range(50):
        bus.publish("visitor:1", event(n))  # never blocks, whoever is behind
        fast_got.append((await fast.get()).frame["n"])
    assert fast_got == list(range(50))
    # The slow one never sees a gap: what it gets is a prefix in order, then the overflow.
    received: list[int] = []
    with pytest.raises(SubscriptionOverflow):
        for _ in range(50):
            received.append((await asyncio.wait_for(slow.get(), 1)).frame["n"])
    assert received == list(range(len(received)))
    assert len(received) <= 5
    with pytest.raises(SubscriptionOverflow):  # and it stays cut off, without waiting
        await asyncio.wait_for(slow.get(), 1)


async def test_publish_never_blocks_on_a_full_subscriber() -> None:
    bus = MemoryBus()
    bus.subscribe(["visitor:1"], capacity=1)
    for n in range(10_000):
        bus.publish("visitor:1", event(n))  # synchronous: returns at once every time


async def test_a_subscriber_within_its_capacity_is_not_cut_off() -> None:
    bus = MemoryBus()
    subscription = bus.subscribe(["visitor:1"], capacity=5)
    for n in range(5):
        bus.publish("visitor:1", event(n))
    assert await drain(subscription, 5) == [0, 1, 2, 3, 4]
    for n in range(5, 10):
        bus.publish("visitor:1", event(n))
    assert await drain(subscription, 5) == [5, 6, 7, 8, 9]


async def test_a_waiting_subscriber_is_woken_by_its_overflow() -> None:
    bus = MemoryBus()
    subscription = bus.subscribe(["visitor:1"], capacity=0)
    waiting = asyncio.ensure_future(subscription.get())
    await asyncio.sleep(0.01)
    bus.publish("visitor:1", event(1))
    with pytest.raises(SubscriptionOverflow):
        await asyncio.wait_for(waiting, 1)


async def test_a_cut_off_subscriber_receives_nothing_more() -> None:
    bus = MemoryBus()
    slow = bus.subscribe(["visitor:1", "agent:1"], capacity=2)
    for n in range(3):
        bus.publish("visitor:1", event(n))
    late = bus.subscribe(["agent:1"])
    bus.publish("agent:1", event(99))
    assert await drain(late, 1) == [99]
    with pytest.raises(SubscriptionOverflow):
        await slow.get()


async def test_close_unsubscribes() -> None:
    bus = MemoryBus()
    leaving = bus.subscribe(["visitor:1", "visitor:2"])
    staying = bus.subscribe(["visitor:1"])
    leaving.close()
    bus.publish("visitor:1", event(1))
    bus.publish("visitor:2", event(2))
    assert await nothing_arrives(leaving)
    assert await drain(staying, 1) == [1]
    leaving.close()  # closing twice is harmless


async def test_closing_the_bus_drops_every_subscription() -> None:
    bus = MemoryBus()
    subscription = bus.subscribe(["visitor:1"])
    await bus.close()
    bus.publish("visitor:1", event(1))
    assert await nothing_arrives(subscription)


async def test_one_event_sent_to_two_topics_a_subscriber_hears_arrives_once() -> None:
    bus = MemoryBus()
    overseer = bus.subscribe(["agent:1", "supervisors"])
    shared = event(1, "approval")
    bus.publish("supervisors", shared)
    bus.publish("agent:1", shared)
    bus.publish("agent:1", event(2))
    assert await drain(overseer, 2) == [1, 2]
    assert await nothing_arrives(overseer)
