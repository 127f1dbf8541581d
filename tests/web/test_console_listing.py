"""How the console words times and durations (chatserver.web.console_views.listing and
wording)."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from chatserver.domain.clock import parse
from chatserver.web.console_views.listing import marked, span
from chatserver.web.console_views.wording import AgentClock, when, zone

NOW = parse("2026-11-26T17:00:00.000Z")  # a Thursday


def test_a_moment_today_this_week_or_further_away() -> None:
    assert when("2026-11-26T08:05:00.000Z", NOW, UTC) == "08:05"
    assert when("2026-11-24T14:05:00.000Z", NOW, UTC) == "Tue 14:05"
    assert when("2026-11-01T14:05:00.000Z", NOW, UTC) == "1 Nov, 14:05"
    assert when("2025-12-31T23:59:00.000Z", NOW, UTC) == "31 Dec 2025, 23:59"


def test_a_moment_on_a_twelve_hour_clock() -> None:
    assert when("2026-11-26T14:05:00.000Z", NOW, UTC, twelve_hours=True) == "02:05 PM"
    assert when("2026-11-24T09:05:00.000Z", NOW, UTC, twelve_hours=True) == "Tue 09:05 AM"


def test_a_moment_in_the_agents_zone_and_utc_for_a_zone_nobody_knows() -> None:
    assert when("2026-11-26T17:00:00.000Z", NOW, zone("Asia/Tokyo")) == "02:00"
    assert zone("Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    for unknown in (None, "", "Mars/Olympus", "../../etc/passwd"):
        assert zone(unknown) is UTC


def test_the_customer_panels_days_and_moments_are_on_the_agents_clock_too() -> None:
    tokyo = AgentClock(zone("Asia/Tokyo"), twelve_hours=False)
    assert tokyo.day("2026-11-30T16:00:00.000Z") == "1 Dec 2026"  # already Dec 1 in Tokyo
    assert tokyo.moment("2026-11-30T16:05:00.000Z") == "1 Dec, 01:05"
    assert AgentClock(UTC, twelve_hours=True).moment("2026-11-30T16:05:00.000Z") == (
        "30 Nov, 04:05 PM")


def test_durations_grow_coarser() -> None:
    assert [span(s) for s in (59, 60, 3599, 3600 * 5 + 120, 86400 * 2 + 3600)] == [
        "<1m", "1m", "59m", "5h 2m", "2d 1h"]


def test_words_starting_with_the_searched_ones_are_marked() -> None:
    assert marked("Ship my address, shipping addr", "shipping ADDR") == [
        ("Ship my ", False), ("address", True), (", ", False), ("shipping", True),
        (" ", False), ("addr", True)]
    assert marked("nothing to mark", "!!!") == [("nothing to mark", False)]
