"""The Bus's delivery guarantee (chatserver/bus/base.py), run against every backend.

A subscription gets its topics' events in publish order, so a mark published last tells
what reached it before: that is how these tests see that nothing else arrived, without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from chatserver.bus import Bus, Event, Subscription, SubscriptionOverflow

PATIENCE = 10  # seconds: a guard against hanging, never part of what is checked
MARK = -1


def event(n: int, kind: str = "message") -> Event:
    return Event({"type": kind, "n": n})


async def next_n(subscription: Subscription) -> int:
    return int((await asyncio.wait_for(subscription.get(), PATIENCE)).frame["n"])


async def drain(subscription: Subscription, count: int) -> list[int]:
    return [await next_n(subscription) for _ in range(count)]


async def heard_before_a_mark(bus: Bus, subscription: Subscription, topic: str) -> list[int]:
    """Everything that reached `subscription` before a mark published now on `topic`."""
    bus.publish(topic, event(MARK))
    heard: list[int] = []
    while (n := await next_n(subscription)) != MARK:
        heard.append(n)
    return heard


async def holds_an_event(subscription: Subscription) -> bool:
    """Whether an event already delivered waits in `subscription`, for one that can no longer
    hear a mark: given one turn of the loop, `get` returns what is there."""
    getting = asyncio.ensure_future(subscription.get())
    await asyncio.sleep(0)  # a turn of the loop, not a wait for time
    if getting.done():
        return getting.exception() is None
    getting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await getting
    return False


async def waiting_for_next(subscription: Subscription) -> asyncio.Task[Event]:
    """A task blocked in `get`: this returns once it waits there."""
    started = asyncio.Event()

    async def get() -> Event:
        started.set()  # we run again only once `get` below has had to wait
        return await subscription.get()

    task = asyncio.ensure_future(get())
    await started.wait()
    return task


async def test_what_is_published_as_soon_as_subscribe_returns_is_heard(bus: Bus) -> None:
    subscription = await bus.subscribe(["visitor:1"])
    bus.publish("visitor:1", event(1))
    assert await drain(subscription, 1) == [1]


async def test_events_arrive_in_publish_order(bus: Bus) -> None:
    subscription = await bus.subscribe(["visitor:1"])
    for n in range(100):
        bus.publish("visitor:1", event(n))
    assert await drain(subscription, 100) == list(range(100))


async def test_a_waiting_subscriber_wakes_for_each_event(bus: Bus) -> None:
    subscription = await bus.subscribe(["visitor:1"])
    received: list[int] = []
    for n in range(5):
        reading = await waiting_for_next(subscription)
        bus.publish("visitor:1", event(n))
        received.append((await asyncio.wait_for(reading, PATIENCE)).frame["n"])
    assert received == [0, 1, 2, 3, 4]


async def test_one_subscription_to_several_topics_gets_them_in_publish_order(bus: Bus) -> None:
    subscription = await bus.subscribe(["agent:1", "agent:2"])
    for n in range(20):
        bus.publish("agent:1" if n % 3 else "agent:2", event(n))
    assert await drain(subscription, 20) == list(range(20))


async def test_topics_are_independent(bus: Bus) -> None:
    vera, walt = await bus.subscribe(["visitor:vera"]), await bus.subscribe(["visitor:walt"])
    bus.publish("visitor:vera", event(1))
    bus.publish("visitor:walt", event(2))
    bus.publish("visitor:nobody", event(3))  # no subscriber: dropped, no error
    assert await heard_before_a_mark(bus, vera, "visitor:vera") == [1]
    assert await heard_before_a_mark(bus, walt, "visitor:walt") == [2]


async def test_every_subscriber_of_a_topic_gets_every_event(bus: Bus) -> None:
    tabs = [await bus.subscribe(["visitor:1"]) for _ in range(3)]
    for n in range(10):
        bus.publish("visitor:1", event(n))
    for tab in tabs:
        assert await drain(tab, 10) == list(range(10))


async def test_a_subscriber_that_stops_reading_is_cut_off_while_a_fast_one_gets_everything(
        bus: Bus) -> None:
    slow = await bus.subscribe(["visitor:1"], capacity=5)
    fast = await bus.subscribe(["visitor:1"], capacity=5)
    fast_got: list[int] = []
    for n in range(50):
        bus.publish("visitor:1", event(n))  # never blocks, whoever is behind
        fast_got.append(await next_n(fast))
    assert fast_got == list(range(50))
    # The slow one never sees a gap: what it gets is a prefix in order, then the overflow.
    received: list[int] = []
    with pytest.raises(SubscriptionOverflow):
        for _ in range(50):
            received.append(await next_n(slow))
    assert received == list(range(len(received)))
    assert len(received) <= 5
    with pytest.raises(SubscriptionOverflow):  # and it stays cut off, without waiting
        await next_n(slow)


async def test_publish_never_blocks_on_a_full_subscriber(bus: Bus) -> None:
    full = await bus.subscribe(["visitor:1"], capacity=1)
    for n in range(10_000):
        bus.publish("visitor:1", event(n))  # synchronous: returns at once every time
    with pytest.raises(SubscriptionOverflow):
        await next_n(full)


async def test_a_subscriber_within_its_capacity_is_not_cut_off(bus: Bus) -> None:
    subscription = await bus.subscribe(["visitor:1"], capacity=5)
    for n in range(5):
        bus.publish("visitor:1", event(n))
    assert await drain(subscription, 5) == [0, 1, 2, 3, 4]
    for n in range(5, 10):
        bus.publish("visitor:1", event(n))
    assert await drain(subscription, 5) == [5, 6, 7, 8, 9]


async def test_a_waiting_subscriber_is_woken_by_its_overflow(bus: Bus) -> None:
    subscription = await bus.subscribe(["visitor:1"], capacity=0)
    waiting = await waiting_for_next(subscription)
    bus.publish("visitor:1", event(1))
    with pytest.raises(SubscriptionOverflow):
        await asyncio.wait_for(waiting, PATIENCE)


async def test_a_cut_off_subscriber_receives_nothing_more(bus: Bus) -> None:
    slow = await bus.subscribe(["visitor:1", "agent:1"], capacity=2)
    for n in range(3):
        bus.publish("visitor:1", event(n))
    late = await bus.subscribe(["agent:1"])
    bus.publish("agent:1", event(99))
    assert await drain(late, 1) == [99]
    with pytest.raises(SubscriptionOverflow):
        await next_n(slow)


async def test_close_unsubscribes(bus: Bus) -> None:
    leaving = await bus.subscribe(["visitor:1", "visitor:2"])
    staying = await bus.subscribe(["visitor:1", "visitor:2"])
    leaving.close()
    bus.publish("visitor:1", event(1))
    bus.publish("visitor:2", event(2))
    assert await heard_before_a_mark(bus, staying, "visitor:1") == [1, 2]
    assert not await holds_an_event(leaving)
    leaving.close()  # closing twice is harmless


async def test_closing_the_bus_drops_every_subscription(bus: Bus) -> None:
    subscription = await bus.subscribe(["visitor:1"])
    await bus.close()
    bus.publish("visitor:1", event(1))  # harmless on a closed bus
    assert not await holds_an_event(subscription)
    await bus.close()  # closing twice is harmless


async def test_one_event_sent_to_two_topics_a_subscriber_hears_arrives_once(bus: Bus) -> None:
    overseer = await bus.subscribe(["agent:1", "supervisors"])
    agent, supervisor = await bus.subscribe(["agent:1"]), await bus.subscribe(["supervisors"])
    shared = event(1, "approval")
    bus.publish("supervisors", shared)
    bus.publish("agent:1", shared)
    bus.publish("agent:1", event(2))
    assert await heard_before_a_mark(bus, overseer, "agent:1") == [1, 2]
    assert await heard_before_a_mark(bus, agent, "agent:1") == [1, 2]
    assert await heard_before_a_mark(bus, supervisor, "supervisors") == [1]


async def test_copies_of_one_event_are_known_by_its_id_not_by_being_one_object(
        bus: Bus) -> None:
    """As when the event crossed a process boundary and was rebuilt on the other side."""
    overseer = await bus.subscribe(["agent:1", "supervisors"])
    shared = event(1, "approval")
    bus.publish("supervisors", shared)
    bus.publish("agent:1", Event(dict(shared.frame), shared.id))
    bus.publish("agent:1", event(1, "approval"))  # the same frame, but another event
    assert await heard_before_a_mark(bus, overseer, "agent:1") == [1, 1]


async def test_the_second_copy_is_dropped_even_once_the_first_was_read(bus: Bus) -> None:
    overseer = await bus.subscribe(["agent:1", "supervisors"])
    shared = event(1, "approval")
    bus.publish("supervisors", shared)
    assert await drain(overseer, 1) == [1]
    bus.publish("agent:1", shared)
    assert await heard_before_a_mark(bus, overseer, "agent:1") == []



async def test_an_offer_takes_events_at_once_and_none_is_offered_while_one_waits(
        bus: Bus) -> None:
    offered: list[int] = []
    seen = {n: asyncio.Event() for n in (2, 4)}
    accepting = True

    def offer(event: Event) -> bool:
        n = int(event.frame["n"])
        offered.append(n)
        if n in seen:
            seen[n].set()
        return accepting

    subscription = await bus.subscribe(["t"], offer=offer)
    witness = await bus.subscribe(["t"])  # hears each event when `subscription` does
    bus.publish("t", event(1))
    bus.publish("t", event(2))
    await asyncio.wait_for(seen[2].wait(), PATIENCE)
    assert offered == [1, 2]  # taken: nothing waits for `get`
    assert not await holds_an_event(subscription)
    accepting = False
    bus.publish("t", event(3))
    assert await next_n(subscription) == 3  # declined, so it waited for `get`
    bus.publish("t", event(4))
    await asyncio.wait_for(seen[4].wait(), PATIENCE)
    accepting = True
    bus.publish("t", event(5))  # 4 waits: 5 must not overtake it
    assert await drain(witness, 5) == [1, 2, 3, 4, 5]
    assert await drain(subscription, 2) == [4, 5]
    assert offered == [1, 2, 3, 4]
