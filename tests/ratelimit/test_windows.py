"""Rate-limit windows (chatserver/ratelimit/base.py), run against every backend, on a pinned
clock: each hit says when it happens, months away from the machine's own time."""

from __future__ import annotations

import pytest

from chatserver.config import Limit
from chatserver.ratelimit import RateLimits, Window

T0 = 1_772_409_600.0  # 2026-03-02T00:00:00Z
MESSAGES = Limit(20, 10.0)  # the default VISITOR_MESSAGE_LIMIT


async def allowed(window: Window, key: str, times: list[float]) -> list[bool]:
    return [(await window.hit(key, T0 + t)).allowed for t in times]


def every_half_second(count: int, start: float = 0.0) -> list[float]:
    return [start + i * 0.5 for i in range(count)]


async def test_twenty_messages_in_ten_seconds_are_allowed_and_the_21st_refused(
        limits: RateLimits) -> None:
    window = limits.window("messages", MESSAGES)
    assert all(await allowed(window, "visitor", every_half_second(20)))  # 0.0 ... 9.5
    refused = await window.hit("visitor", T0 + 9.75)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(0.25)  # when the one sent at 0.0 leaves


async def test_a_burst_at_one_instant_is_cut_at_the_limit(limits: RateLimits) -> None:
    window = limits.window("messages", MESSAGES)
    assert await allowed(window, "visitor", [5.0] * 25) == [True] * 20 + [False] * 5
    assert (await window.hit("visitor", T0 + 5.0)).retry_after == pytest.approx(10.0)


async def test_messages_are_allowed_again_as_the_window_slides(limits: RateLimits) -> None:
    window = limits.window("messages", MESSAGES)
    await allowed(window, "visitor", every_half_second(20))
    assert await allowed(window, "visitor", [9.99, 10.0, 10.0, 10.5]) == [
        False, True, False, True]  # at 10.0 the hit of 0.0 has left, that of 0.5 not yet


async def test_refused_hits_do_not_prolong_the_wait(limits: RateLimits) -> None:
    window = limits.window("messages", MESSAGES)
    await allowed(window, "visitor", [0.0] * 20)
    assert not any(await allowed(window, "visitor", every_half_second(18, start=1.0)))
    assert await allowed(window, "visitor", [10.0]) == [True]


async def test_keys_and_windows_are_independent(limits: RateLimits) -> None:
    messages, sessions = limits.window("messages", MESSAGES), limits.window("sessions", MESSAGES)
    await allowed(messages, "visitor-a", [0.0] * 20)
    assert await allowed(messages, "visitor-a", [1.0]) == [False]
    assert await allowed(messages, "visitor-b", [1.0]) == [True]
    assert await allowed(sessions, "visitor-a", [1.0]) == [True]


async def test_a_window_opened_twice_by_name_is_one_window(limits: RateLimits) -> None:
    await allowed(limits.window("messages", MESSAGES), "visitor", [0.0] * 20)
    assert await allowed(limits.window("messages", MESSAGES), "visitor", [1.0]) == [False]


async def test_a_limit_of_zero_is_off(limits: RateLimits) -> None:
    window = limits.window("messages", Limit(0, 0.0))
    assert all(await allowed(window, "visitor", [0.0] * 100))


async def test_a_hit_taken_back_frees_its_place(limits: RateLimits) -> None:
    window = limits.window("transcripts", Limit(2, 3600.0))
    first = await window.hit("visitor", T0)
    await window.hit("visitor", T0 + 1.0)
    refused = await window.hit("visitor", T0 + 2.0)
    await refused.undo()  # harmless: it was never counted
    assert not (await window.hit("visitor", T0 + 3.0)).allowed
    await first.undo()
    assert (await window.hit("visitor", T0 + 4.0)).allowed
    assert not (await window.hit("visitor", T0 + 5.0)).allowed


async def test_two_hits_at_one_instant_are_taken_back_one_at_a_time(
        limits: RateLimits) -> None:
    window = limits.window("messages", Limit(2, 10.0))
    first, _ = await window.hit("visitor", T0), await window.hit("visitor", T0)
    await first.undo()
    assert await allowed(window, "visitor", [0.0, 0.0]) == [True, False]


async def test_the_wait_counts_from_the_hit_that_must_leave_first(limits: RateLimits) -> None:
    window = limits.window("sessions", Limit(3, 60.0))
    await allowed(window, "203.0.113.7", [0.0, 20.0, 40.0])
    assert (await window.hit("203.0.113.7", T0 + 45.0)).retry_after == pytest.approx(15.0)
    assert await allowed(window, "203.0.113.7", [60.0, 61.0, 80.0]) == [True, False, True]
