"""The bus under test: every test in tests/bus/test_bus.py runs once per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatserver.bus import Bus, open_bus
from tests.redis_urls import REDIS, redis_url

# The next backend joins the suite by its URL here, and nowhere else.
BUS_URLS = ["memory://", REDIS]


@pytest.fixture(params=BUS_URLS)
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    url = redis_url(request.param) if request.param.startswith("redis://") else request.param
    opened = open_bus(url)
    yield opened
    await opened.close()
