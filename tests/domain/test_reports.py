"""The reports' arithmetic, without a database: nearest-rank percentiles, the spread of a
set of durations, and a range's figures day by day."""

from __future__ import annotations

from datetime import date

import pytest

from chatserver.domain.reports import Chat, Money, day_range, percentile, report, spread

DAY = date(2026, 3, 2)
T0 = 1_772_409_600.0  # 2026-03-02T00:00:00Z


def chat(conversation_id: int, *, day: date = DAY, created: float = T0,
         waited: float | None = 10, first_response: float | None = 30,
         closed: float | None = 600, answered_by: tuple[str, ...] | None = None,
         rating: int | None = None, comment: str | None = None) -> Chat:
    """A conversation opened at `created`; the other times are seconds after it (`waited`
    None: never assigned). Ann answered it when there was a first response, unless told."""
    if answered_by is None:
        answered_by = ("Ann",) if first_response is not None else ()
    return Chat(day=day, created=created, waiting_since=created,
                assigned=None if waited is None else created + waited,
                first_response=None if first_response is None else created + first_response,
                closed=None if closed is None else created + closed, answered_by=answered_by,
                rating=rating, comment=comment, conversation_id=conversation_id)


# --- percentile --------------------------------------------------------------------------

@pytest.mark.parametrize(("p", "expected"), [
    (0, 15), (5, 15), (20, 15), (30, 20), (40, 20), (50, 35), (90, 50), (100, 50),
])
def test_the_percentile_is_the_nearest_rank_value(p: float, expected: float) -> None:
    assert percentile([15, 20, 35, 40, 50], p) == expected


def test_the_percentile_does_not_care_about_input_order() -> None:
    assert percentile([50, 15, 40, 20, 35], 50) == 35
    assert percentile([3.5], 90) == 3.5


def test_the_percentile_of_no_values_is_none() -> None:
    assert percentile([], 50) is None


def test_every_whole_percentile_of_one_to_a_hundred_is_itself() -> None:
    """Nearest rank: the p-th percentile of 1..100 is the value p. (Computing the rank as
    `p / 100 * n` in floating point lands one rank too high for p = 7, 14, 28, 55, ...)"""
    values = list(range(1, 101))
    assert [p for p in range(1, 101) if percentile(values, p) != p] == []


# --- spread ------------------------------------------------------------------------------

def test_a_spread_has_the_median_the_90th_percentile_and_the_count() -> None:
    assert spread([30, 10, 20, 40, 1000]) == {"median": 30, "p90": 1000, "count": 5}
    assert spread([5, 7]) == {"median": 5, "p90": 7, "count": 2}


def test_a_spread_of_nothing_has_no_median_and_a_count_of_zero() -> None:
    assert spread([]) == {"median": None, "p90": None, "count": 0}


# --- report ------------------------------------------------------------------------------

def test_every_day_of_the_range_is_there_even_without_chats() -> None:
    found = report([chat(1)], [], date(2026, 3, 1), date(2026, 3, 3))
    assert found["from"] == "2026-03-01" and found["to"] == "2026-03-03"
    assert [d["day"] for d in found["days"]] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    empty = found["days"][0]
    assert {**empty, "day": None} == {**found["days"][2], "day": None}
    assert empty["chats"] == 0 and empty["missed"] == 0 and empty["chats_per_agent"] == {}
    for figure in ("first_response_seconds", "waiting_seconds", "resolution_seconds"):
        assert empty[figure] == {"median": None, "p90": None, "count": 0}
    assert empty["satisfaction"] == {"average": None, "ratings": 0, "comments": []}
    assert empty["refunds"] == {"count": 0, "cents": {}}
    assert empty["credits"] == {"count": 0, "cents": {}}
    assert found["days"][1]["chats"] == 1


def test_a_days_figures_measure_response_waiting_and_resolution_times() -> None:
    chats = [chat(1, waited=5, first_response=20, closed=300),
             chat(2, waited=15, first_response=60, closed=900),
             chat(3, waited=25, first_response=None, closed=None)]  # still open, unanswered
    [day] = report(chats, [], DAY, DAY)["days"]
    assert day["chats"] == 3
    assert day["first_response_seconds"] == {"median": 20, "p90": 60, "count": 2}
    assert day["waiting_seconds"] == {"median": 15, "p90": 25, "count": 3}
    assert day["resolution_seconds"] == {"median": 300, "p90": 900, "count": 2}
    assert day["missed"] == 0  # open without an answer yet is not missed


def test_a_chat_closed_without_an_agent_reply_is_missed() -> None:
    chats = [chat(1, first_response=None, closed=120),
             chat(2, first_response=None, closed=60, waited=None),  # never even assigned
             chat(3)]
    [day] = report(chats, [], DAY, DAY)["days"]
    assert day["missed"] == 2
    assert day["waiting_seconds"]["count"] == 2  # the unassigned one never stopped waiting


def test_chats_are_counted_per_agent_in_name_order() -> None:
    chats = [chat(1, answered_by=("Zoe",)), chat(2, answered_by=("Ann",)),
             chat(3, answered_by=("Zoe",)), chat(4, first_response=None)]
    [day] = report(chats, [], DAY, DAY)["days"]
    assert list(day["chats_per_agent"].items()) == [("Ann", 1), ("Zoe", 2)]


def test_a_chat_two_agents_answered_counts_for_both() -> None:
    chats = [chat(1, answered_by=("Ann", "Zoe")), chat(2, answered_by=("Zoe",))]
    [day] = report(chats, [], DAY, DAY)["days"]
    assert day["chats"] == 2
    assert day["chats_per_agent"] == {"Ann": 1, "Zoe": 2}


def test_satisfaction_averages_the_ratings_and_keeps_the_comments() -> None:
    chats = [chat(1, rating=5, comment="Lovely"), chat(2, rating=4), chat(3, rating=4),
             chat(4)]
    [day] = report(chats, [], DAY, DAY)["days"]
    assert day["satisfaction"] == {
        "average": 4.33, "ratings": 3,
        "comments": [{"conversation_id": 1, "score": 5, "comment": "Lovely"}]}


def test_refunds_and_credits_are_totalled_per_currency() -> None:
    money = [Money(DAY, "refund", 1500, "USD"), Money(DAY, "refund", 500, "USD"),
             Money(DAY, "refund", 900, "EUR"), Money(DAY, "credit", 250, "USD")]
    [day] = report([], money, DAY, DAY)["days"]
    assert day["refunds"] == {"count": 3, "cents": {"USD": 2000, "EUR": 900}}
    assert day["credits"] == {"count": 1, "cents": {"USD": 250}}
    assert day["chats"] == 0


def test_the_total_covers_the_whole_range() -> None:
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)
    chats = [chat(1, day=monday, first_response=10, rating=2),
             chat(2, day=tuesday, created=T0 + 86_400, first_response=50, rating=5),
             chat(3, day=tuesday, created=T0 + 86_400, first_response=None, closed=30)]
    money = [Money(monday, "credit", 100, "USD"), Money(tuesday, "credit", 300, "USD")]
    found = report(chats, money, monday, tuesday)
    assert [d["chats"] for d in found["days"]] == [1, 2]
    total = found["total"]
    assert total["chats"] == 3 and total["missed"] == 1
    assert total["first_response_seconds"] == {"median": 10, "p90": 50, "count": 2}
    assert total["satisfaction"]["average"] == 3.5
    assert total["credits"] == {"count": 2, "cents": {"USD": 400}}
    assert total["chats_per_agent"] == {"Ann": 2}  # nobody answered the missed one


TODAY = date(2026, 11, 25)


def test_a_report_covers_the_7_days_to_today_unless_told() -> None:
    assert day_range(None, None, TODAY) == (date(2026, 11, 19), TODAY)
    assert day_range(None, "2026-03-07", TODAY) == (date(2026, 3, 1), date(2026, 3, 7))
    assert day_range("2026-01-01", "2026-12-31", TODAY) == (date(2026, 1, 1),
                                                           date(2026, 12, 31))


@pytest.mark.parametrize(("first", "last", "problem"), [
    ("2026-02-30", None, "YYYY-MM-DD"), (None, "yesterday", "YYYY-MM-DD"),
    ("9999-12-25", "9999-12-31", "from 1970 to 9998"), (None, "0001-01-03", "from 1970"),
    (None, "9999-12-31", "from 1970 to 9998"), ("1969-12-31", "1970-01-02", "from 1970"),
    ("2026-03-02", "2026-03-01", "must not be after"), ("2024-01-01", "2026-01-01", "a year"),
])
def test_a_range_outside_the_calendar_or_backwards_or_too_long_is_refused(
        first: str | None, last: str | None, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        day_range(first, last, TODAY)
