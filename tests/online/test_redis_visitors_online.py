"""Visitors online through Redis: what one process records, the others see."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatserver.online import VisitorsOnline, open_visitors_online
from chatserver.online import redis as online_redis
from tests.ratelimit.conftest import forget
from tests.redis_urls import redis_url


@pytest.fixture
async def processes() -> AsyncIterator[tuple[VisitorsOnline, VisitorsOnline]]:
    """The records of two server processes on one Redis URL."""
    url = redis_url()
    one, other = open_visitors_online(url), open_visitors_online(url)
    yield one, other
    await one.close()
    await other.close()
    await forget(url)


async def test_a_visitor_connected_to_one_process_is_online_in_another(
        processes: tuple[VisitorsOnline, VisitorsOnline]) -> None:
    one, other = processes
    await one.connected("v1")
    assert await other.online("v1")
    await one.disconnected("v1")
    assert not await other.online("v1")


async def test_a_visitor_with_tabs_on_two_processes_is_online_until_both_close(
        processes: tuple[VisitorsOnline, VisitorsOnline]) -> None:
    one, other = processes
    await one.connected("v1")
    await other.connected("v1")
    await one.disconnected("v1")
    assert await one.online("v1")
    await other.disconnected("v1")
    assert not await one.online("v1")


async def test_the_claim_of_a_process_that_died_lapses(
        processes: tuple[VisitorsOnline, VisitorsOnline],
        monkeypatch: pytest.MonkeyPatch) -> None:
    one, other = processes
    await one.connected("v1")  # then `one` dies: nothing withdraws its claim
    now = online_redis.wall_clock()
    monkeypatch.setattr(online_redis, "wall_clock", lambda: now + online_redis.LAPSE - 1)
    assert await other.online("v1")
    monkeypatch.setattr(online_redis, "wall_clock", lambda: now + online_redis.LAPSE + 1)
    assert not await other.online("v1")
