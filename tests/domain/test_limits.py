"""Rate limits: a sliding window per key (a visitor, an address). Time is passed in."""

from __future__ import annotations

import pytest

from chatserver.config import Limit
from chatserver.domain.limits import SlidingWindow, TypingGate

MESSAGES = Limit(20, 10.0)  # the default VISITOR_MESSAGE_LIMIT, 20/10


def send(window: SlidingWindow, key: str, times: list[float]) -> list[bool]:
    return [window.allow(key, t) for t in times]


def every_half_second(count: int, start: float = 0.0) -> list[float]:
    return [start + i * 0.5 for i in range(count)]


def test_twenty_messages_in_ten_seconds_are_allowed() -> None:
    window = SlidingWindow(MESSAGES)

    assert all(send(window, "visitor", every_half_second(20)))


def test_the_21st_message_within_ten_seconds_is_refused() -> None:
    window = SlidingWindow(MESSAGES)
    send(window, "visitor", every_half_second(20))

    assert window.allow("visitor", 9.9) is False


def test_a_burst_at_one_instant_is_cut_at_the_limit() -> None:
    window = SlidingWindow(MESSAGES)

    results = send(window, "visitor", [5.0] * 25)

    assert results == [True] * 20 + [False] * 5


def test_messages_are_allowed_again_once_the_window_slides() -> None:
    window = SlidingWindow(MESSAGES)
    send(window, "visitor", every_half_second(20))  # 0.0, 0.5, ... 9.5

    assert window.allow("visitor", 9.99) is False
    assert window.allow("visitor", 10.0) is True  # the one sent at 0.0 has left the window
    assert window.allow("visitor", 10.0) is False  # the one at 0.5 has not
    assert window.allow("visitor", 10.5) is True


def test_a_visitor_quiet_for_a_whole_window_gets_the_full_allowance_back() -> None:
    window = SlidingWindow(MESSAGES)
    send(window, "visitor", [0.0] * 20)

    assert all(send(window, "visitor", [30.0] * 20))
    assert window.allow("visitor", 30.0) is False


def test_refused_messages_do_not_prolong_the_wait() -> None:
    window = SlidingWindow(MESSAGES)
    send(window, "visitor", [0.0] * 20)
    send(window, "visitor", every_half_second(18, start=1.0))  # all refused, none stored

    assert window.allow("visitor", 10.0) is True


def test_keys_are_independent() -> None:
    window = SlidingWindow(MESSAGES)
    send(window, "visitor-a", [0.0] * 20)

    assert window.allow("visitor-a", 1.0) is False
    assert window.allow("visitor-b", 1.0) is True


@pytest.mark.parametrize("limit", [Limit.parse("0"), Limit(0, 10.0)], ids=["0", "0/10"])
def test_a_limit_of_zero_is_off(limit: Limit) -> None:
    window = SlidingWindow(limit)

    assert all(send(window, "visitor", [0.0] * 1000))


def test_new_sessions_per_address_are_limited_per_minute() -> None:
    window = SlidingWindow(Limit(30, 60.0))  # the default VISITOR_SESSION_LIMIT

    assert all(send(window, "203.0.113.7", [float(i) for i in range(30)]))
    assert window.allow("203.0.113.7", 59.0) is False
    assert window.allow("198.51.100.1", 59.0) is True
    assert window.allow("203.0.113.7", 60.0) is True


def test_one_per_second_allows_a_steady_pace_and_refuses_a_double() -> None:
    window = SlidingWindow(Limit(1, 1.0))

    assert send(window, "visitor", [0.0, 1.0, 2.0, 2.5, 3.0]) == [True, True, True, False, True]


def test_bounding_memory_never_forgets_a_visitor_who_is_still_limited() -> None:
    window = SlidingWindow(MESSAGES, max_keys=2)
    send(window, "flooder", [0.0] * 20)
    window.allow("quiet", 0.0)

    for i in range(10):  # many new visitors arrive while the flooder is still limited
        assert window.allow(f"newcomer-{i}", 1.0 + i * 0.1) is True

    assert window.allow("flooder", 5.0) is False


def test_bounding_memory_forgets_only_visitors_whose_window_has_passed() -> None:
    window = SlidingWindow(Limit(1, 10.0), max_keys=1)
    window.allow("early", 0.0)

    assert window.allow("late", 20.0) is True  # "early" is forgotten to make room
    assert window.allow("early", 20.0) is True  # and starts afresh, as it would have anyway
    assert window.allow("late", 21.0) is False


# --- typing: news only, and not too much of it --------------------------------------------

def test_typing_repeated_is_passed_on_once_then_again_only_after_the_refresh() -> None:
    gate = TypingGate(refresh=5.0)
    assert [gate.admit(1, True, 0.1 * n) for n in range(40)] == [True] + [False] * 39
    assert gate.admit(1, True, 5.0)
    assert not gate.admit(1, True, 9.9)


def test_typing_stopping_or_moving_to_another_conversation_is_news() -> None:
    gate = TypingGate()
    assert gate.admit(1, True, 0.0)
    assert gate.admit(1, False, 0.1)
    assert not gate.admit(1, False, 30.0)  # a stop repeated is never news
    assert gate.admit(1, True, 30.1)
    assert gate.admit(2, True, 30.2)


def test_typing_switched_on_and_off_as_fast_as_possible_is_passed_on_ten_times_in_ten_s(
) -> None:
    gate = TypingGate(limit=Limit(10, 10.0))
    passed = [gate.admit(1, n % 2 == 0, 0.001 * n) for n in range(1000)]
    assert passed[:10] == [True] * 10 and passed.count(True) == 10
    assert gate.admit(1, True, 10.0)  # the window has moved on
