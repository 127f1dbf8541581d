"""The bus under test: every test in tests/bus/test_bus.py runs once per backend."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from chatserver.bus import Bus, open_bus

REDIS = "redis://127.0.0.1:6379/0"

# The next backend joins the suite by its URL here, and nowhere else.
BUS_URLS = ["memory://", REDIS]


def redis_url(base: str = REDIS) -> str:
    """`base` with a prefix of its own, so tests (and test runs) do not hear each other."""
    return f"{base}?prefix=test-{secrets.token_hex(6)}:"


@pytest.fixture(params=BUS_URLS)
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    url = redis_url(request.param) if request.param.startswith("redis://") else request.param
    opened = open_bus(url)
    yield opened
    await opened.close()
