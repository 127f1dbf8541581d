"""What is particular to the Redis bus (its behaviour is tests/bus/test_bus.py's): one
pub/sub connection whose loss cuts every subscription off, channels under the URL's prefix,
subscriptions confirmed by Redis, and several processes hearing one another."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

import orjson
import pytest
from redis.asyncio import Redis

from chatserver.bus import Bus, Event, SubscriptionOverflow, open_bus
from chatserver.bus.redis import OUTBOX_LIMIT, RedisBus
from tests.bus.test_bus import PATIENCE, drain, event, heard_before_a_mark, next_n
from tests.redis_urls import REDIS


@pytest.fixture
def prefix() -> str:
    return f"test-{secrets.token_hex(6)}:"


@pytest.fixture
async def plain() -> AsyncIterator[Redis]:
    """A Redis client of the test's own, beside the buses."""
    client = Redis.from_url(REDIS)
    yield client
    await client.aclose()


@pytest.fixture
async def buses(prefix: str) -> AsyncIterator[list[Bus]]:
    """Two buses on one prefix: two processes of one server."""
    opened = [open_bus(f"{REDIS}?prefix={prefix}") for _ in range(2)]
    yield opened
    for bus in opened:
        await bus.close()


async def kill_pubsub_connections(plain: Redis, prefix: str) -> int:
    """CLIENT KILL the pub/sub connections of the buses on `prefix` (only theirs: other test
    runs may share this Redis)."""
    name = f"chatserver-bus:{prefix}"
    killed = 0
    for client in await plain.client_list(_type="pubsub"):
        if client["name"] == name:
            killed += await plain.client_kill_filter(_id=client["id"])
    return killed


async def channels(plain: Redis, prefix: str) -> set[str]:
    return {name.decode() for name in await plain.pubsub_channels(f"{prefix}*")}


def test_a_redis_url_gives_the_redis_bus_and_a_bad_one_a_clear_error() -> None:
    assert isinstance(open_bus("redis://127.0.0.1:6379/0?prefix=chat:"), RedisBus)
    for bad in ("redis://127.0.0.1:6379/0?channel=chat", "redis://127.0.0.1:6379/chat",
                "redis://127.0.0.1:6379/0?prefix=my chat", "redis://:secret@127.0.0.1/x"):
        with pytest.raises(ValueError, match=r"redis://HOST\[:PORT\]\[/N\]\[\?prefix=P\]") as error:
            open_bus(bad)
        assert "secret" not in str(error.value)


async def test_losing_the_pubsub_connection_cuts_off_every_subscription(
        buses: list[Bus], plain: Redis, prefix: str) -> None:
    bus = buses[0]
    visitor = await bus.subscribe(["visitor:1"])
    agent = await bus.subscribe(["agent:1", "agents"])
    assert await kill_pubsub_connections(plain, prefix) == 1
    for cut_off in (visitor, agent):
        with pytest.raises(SubscriptionOverflow):
            await next_n(cut_off)
    # Redis is back for whoever subscribes anew, and only for them: nothing was resubscribed
    fresh = await bus.subscribe(["agent:2"])
    bus.publish("agent:2", event(1))
    assert await drain(fresh, 1) == [1]
    assert await channels(plain, prefix) == {f"{prefix}agent:2"}
    with pytest.raises(SubscriptionOverflow):
        await next_n(agent)


async def test_channels_carry_the_prefix_and_go_with_their_last_local_subscriber(
        buses: list[Bus], plain: Redis, prefix: str) -> None:
    bus = buses[0]
    first = await bus.subscribe(["visitor:1", "agents"])
    second = await bus.subscribe(["agents"])
    assert await channels(plain, prefix) == {f"{prefix}visitor:1", f"{prefix}agents"}
    first.close()
    # Redis answers in order on the one connection: once this is confirmed, the
    # unsubscription sent before it has been done
    await bus.subscribe(["agent:7"])
    assert await channels(plain, prefix) == {f"{prefix}agents", f"{prefix}agent:7"}
    second.close()
    await bus.subscribe(["agent:8"])
    assert await channels(plain, prefix) == {f"{prefix}agent:7", f"{prefix}agent:8"}


async def test_a_subscription_is_confirmed_by_redis_before_subscribe_returns(
        buses: list[Bus], plain: Redis, prefix: str) -> None:
    bus = buses[0]
    await plain.ping()  # connected first: Redis would read its publish first, given the chance
    for n in range(50):  # a race lost even once in fifty would show
        subscription = await bus.subscribe([f"visitor:{n}"])
        sent = Event({"type": "message", "n": n})
        await plain.publish(f"{prefix}visitor:{n}",
                            orjson.dumps({"id": sent.id, "frame": sent.frame}))
        assert await drain(subscription, 1) == [n]


async def test_what_one_process_publishes_reaches_the_others_subscribers_in_order(
        buses: list[Bus]) -> None:
    here, there = buses
    listening = await there.subscribe(["agent:1", "supervisors"], capacity=1000)
    for n in range(300):
        here.publish("agent:1" if n % 2 else "supervisors", event(n))
    assert await drain(listening, 300) == list(range(300))
    shared = event(300, "approval")  # to two topics the subscriber hears: once
    here.publish("supervisors", shared)
    here.publish("agent:1", shared)
    assert await heard_before_a_mark(there, listening, "agent:1") == [300]


async def test_both_processes_subscribers_hear_both_processes_in_one_order(
        buses: list[Bus]) -> None:
    here, there = buses
    on_here, on_there = await here.subscribe(["agents"]), await there.subscribe(["agents"])
    for n in range(100):
        (here if n % 3 else there).publish("agents", event(n))
    heard_here, heard_there = await drain(on_here, 100), await drain(on_there, 100)
    assert heard_here == heard_there
    assert sorted(heard_here) == list(range(100))


async def test_without_redis_a_subscription_is_cut_off_at_once(prefix: str) -> None:
    bus = open_bus(f"redis://127.0.0.1:1/0?prefix={prefix}")  # nothing listens on port 1
    try:
        subscription = await bus.subscribe(["visitor:1"])
        with pytest.raises(SubscriptionOverflow):
            await asyncio.wait_for(subscription.get(), PATIENCE)
    finally:
        await bus.close()


async def test_an_outbox_redis_cannot_keep_up_with_cuts_off_every_subscription(
        buses: list[Bus]) -> None:
    bus = buses[0]
    subscription = await bus.subscribe(["visitor:1"], capacity=2 * OUTBOX_LIMIT)
    for n in range(OUTBOX_LIMIT + 1):  # all at once: the writer never gets a turn
        bus.publish("visitor:1", event(n))
    with pytest.raises(SubscriptionOverflow):
        await next_n(subscription)


class FreezingProxy:
    """A TCP relay to Redis that can go quiet without closing: a peer gone, no RST."""

    def __init__(self) -> None:
        self.frozen = False
        self.server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._pipes: list[asyncio.Task[None]] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self._writers += [writer, upstream_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                if not self.frozen:  # dropped, and the link kept open
                    sink.write(data)
        self._pipes += [asyncio.ensure_future(pipe(reader, upstream_writer)),
                        asyncio.ensure_future(pipe(upstream_reader, writer))]

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in self._pipes:
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        for writer in self._writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        await self.server.wait_closed()


async def test_a_link_gone_quiet_without_closing_cuts_off_every_subscription(
        prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from chatserver.bus import redis_link
    monkeypatch.setattr(redis_link, "PING_EVERY", 0.1)
    monkeypatch.setattr(redis_link, "SILENCE_LIMIT", 1.0)
    proxy = FreezingProxy()
    bus = open_bus(f"redis://127.0.0.1:{await proxy.start()}/0?prefix={prefix}")
    try:
        subscription = await bus.subscribe(["visitor:1"])
        bus.publish("visitor:1", event(1))
        assert await next_n(subscription) == 1
        await asyncio.sleep(1.5)  # longer than the limit, pings answered: still there
        bus.publish("visitor:1", event(2))
        assert await next_n(subscription) == 2
        proxy.frozen = True
        with pytest.raises(SubscriptionOverflow):
            await asyncio.wait_for(subscription.get(), PATIENCE)
    finally:
        await bus.close()
        await proxy.close()
