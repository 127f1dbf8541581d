"""The rate limits under test: every test in tests/ratelimit/test_windows.py runs once per
backend, on a clock the test holds (the windows take time from their caller)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatserver.ratelimit import RateLimits, open_rate_limits
from tests.redis_urls import REDIS, forget, redis_url

# The next backend joins the suite by its URL here, and nowhere else.
LIMITS_URLS = ["memory://", REDIS]


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

