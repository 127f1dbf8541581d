"""How the console words what it shows, the same in every part: a service's message as a
sentence, a count with its noun, and times on the agent's own clock (the zone and 12- or
24-hour clock their browser tells the page, in two cookies set by inbox.js)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request

from chatserver.domain.clock import parse

TIME_ZONE_COOKIE, CLOCK_COOKIE = "tz", "clock"


def sentence(text: str) -> str:
    """A service's message ("only 10.00 USD of this order can be refunded") as a sentence."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def plural(n: int, one: str) -> str:
    return f"{n} {one}" if n == 1 else f"{n} {one}s"


def zone(name: str | None) -> tzinfo:
    """The agent's time zone, by its IANA name (the console's page tells it); UTC when it is
    unknown."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def when(at: str, now: float, local: tzinfo, twelve_hours: bool = False) -> str:
    """A moment as the lists show it, in the agent's zone and clock: `14:05` (or `02:05 PM`)
    today, `Tue 14:05` within six days, else `25 Nov, 14:05` (with the year when it is not
    this one)."""
    moment = datetime.fromtimestamp(parse(at), local)
    today = datetime.fromtimestamp(now, local)
    clock = f"{moment:%I:%M %p}" if twelve_hours else f"{moment:%H:%M}"
    if moment.date() == today.date():
        return clock
    if abs(moment - today).total_seconds() < 6 * 86400:
        return f"{moment:%a} {clock}"
    year = "" if moment.year == today.year else f" {moment.year}"
    return f"{moment.day} {moment:%b}{year}, {clock}"


@dataclass(frozen=True)
class AgentClock:
    local: tzinfo
    twelve_hours: bool

    @classmethod
    def of(cls, request: Request) -> AgentClock:
        return cls(zone(request.cookies.get(TIME_ZONE_COOKIE)),
                   request.cookies.get(CLOCK_COOKIE) == "12")

    def day(self, stamp: str) -> str:
        """"4 Dec 2026": when a customer or an order began, a credit expires."""
        return f"{self._at(stamp):%-d %b %Y}"

    def moment(self, stamp: str) -> str:
        """"4 Dec, 14:05" (or "4 Dec, 02:05 PM"): when an entry or a request was made."""
        at = self._at(stamp)
        return f"{at:%-d %b}, {at:%I:%M %p}" if self.twelve_hours else f"{at:%-d %b, %H:%M}"

    def shown(self, now: float) -> dict[str, Any]:
        """What templates call to tell times: `when` (relative to now), `day`, `moment`."""
        return {"when": partial(when, now=now, local=self.local,
                                twelve_hours=self.twelve_hours),
                "day": self.day, "moment": self.moment}

    def _at(self, stamp: str) -> datetime:
        return datetime.fromtimestamp(parse(stamp), self.local)
