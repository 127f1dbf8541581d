"""What is particular to the windows in Redis (their behaviour is test_windows.py's): every
process on one URL shares them, under the URL's prefix, and they expire."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from chatserver.config import Limit
from chatserver.ratelimit import RateLimits, open_rate_limits
from chatserver.ratelimit.redis import TTL_MARGIN
from tests.ratelimit.test_windows import MESSAGES, T0, allowed
from tests.redis_urls import REDIS, redis_url


@pytest.fixture
def limits_url() -> str:
    return redis_url()


@pytest.fixture
async def another_process(limits_url: str) -> AsyncIterator[RateLimits]:
    opened = open_rate_limits(limits_url)
    yield opened
    await opened.close()


def every_other(start: float) -> list[float]:
    return [start + i for i in range(10)]


async def test_every_process_on_one_url_counts_in_one_window(
        limits: RateLimits, another_process: RateLimits) -> None:
    here, there = (p.window("messages", MESSAGES) for p in (limits, another_process))
    assert all(await allowed(here, "visitor", every_other(0.0)))
    assert all(await allowed(there, "visitor", every_other(0.5)))
    assert await allowed(here, "visitor", [9.9]) == [False]
    assert await allowed(there, "visitor", [9.9]) == [False]


async def test_a_key_is_named_under_the_prefix_and_expires_after_its_window(
        limits: RateLimits, limits_url: str) -> None:
    await limits.window("sessions", Limit(30, 60.0)).hit("203.0.113.7", T0)
    prefix = limits_url.partition("?prefix=")[2]
    client = Redis.from_url(REDIS)
    try:
        assert [key async for key in client.scan_iter(match=f"{prefix}*")] == [
            f"{prefix}rate:sessions:203.0.113.7".encode()]
        ttl = await client.pttl(f"{prefix}rate:sessions:203.0.113.7")
    finally:
        await client.aclose()
    assert 60_000 < ttl <= (60 + TTL_MARGIN) * 1000


async def test_without_redis_every_hit_is_allowed_rather_than_every_visitor_refused() -> None:
    limits = open_rate_limits(redis_url("redis://127.0.0.1:1/0"))  # nothing listens there
    try:
        window = limits.window("messages", Limit(1, 10.0))
        assert await allowed(window, "visitor", [0.0, 0.0, 0.0]) == [True] * 3
    finally:
        await limits.close()
