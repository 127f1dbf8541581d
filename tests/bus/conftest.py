"""The bus under test: every test in tests/bus/test_bus.py runs once per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatserver.bus import Bus, open_bus

# The next backend joins the suite by its URL here, and nowhere else.
BUS_URLS = ["memory://"]


@pytest.fixture(params=BUS_URLS)
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    opened = open_bus(request.param)
    yield opened
    await opened.close()
