"""The records of visitors online under test: every test in tests/online/test_visitors_online.py
runs once per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatserver.online import VisitorsOnline, open_visitors_online
from tests.ratelimit.conftest import forget
from tests.redis_urls import REDIS, redis_url

# The next backend joins the suite by its URL here, and nowhere else.
ONLINE_URLS = ["memory://", REDIS]


@pytest.fixture(params=ONLINE_URLS)
async def online_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if not request.param.startswith("redis://"):
        yield request.param
        return
    url = redis_url(request.param)
    yield url
    await forget(url)


@pytest.fixture
async def online(online_url: str) -> AsyncIterator[VisitorsOnline]:
    opened = open_visitors_online(online_url)
    yield opened
    await opened.close()
