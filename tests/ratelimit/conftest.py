"""The rate limits under test: every test in tests/ratelimit/test_windows.py runs once per
backend, on a clock the test holds (the windows take time from their caller)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from chatserver.ratelimit import RateLimits, open_rate_limits
from tests.redis_urls import REDIS, redis_url

# The next backend joins the suite by its URL here, and nowhere else.
LIMITS_URLS = ["memory://", REDIS]


async def forget(url: str) -> None:
    """Delete what a test left under its prefix in Redis (the keys would expire anyway)."""
    prefix = url.partition("?prefix=")[2]
    client = Redis.from_url(REDIS)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=LIMITS_URLS)
def limits_url(request: pytest.FixtureRequest) -> str:
    return redis_url(request.param) if request.param.startswith("redis://") else request.param


@pytest.fixture
async def limits(limits_url: str) -> AsyncIterator[RateLimits]:
    opened = open_rate_limits(limits_url)
    yield opened
    await opened.close()
    if limits_url.startswith("redis://"):
        await forget(limits_url)

