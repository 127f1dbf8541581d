"""The sign-in throttles under test: every test in tests/signins/test_sign_ins.py runs once
per backend, on a clock the test holds (the throttle takes time from its caller)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatserver.signins import SignIns, open_sign_ins
from tests.redis_urls import REDIS, forget, redis_url

# The next backend joins the suite by its URL here, and nowhere else.
SIGN_INS_URLS = ["memory://", REDIS]


@pytest.fixture(params=SIGN_INS_URLS)
def sign_ins_url(request: pytest.FixtureRequest) -> str:
    return redis_url(request.param) if request.param.startswith("redis://") else request.param


@pytest.fixture
async def throttle(sign_ins_url: str) -> AsyncIterator[SignIns]:
    opened = open_sign_ins(sign_ins_url)
    yield opened
    await opened.close()
    if sign_ins_url.startswith("redis://"):
        await forget(sign_ins_url)
