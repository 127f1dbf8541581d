"""Reports: how fast chats are answered and resolved, how many were missed, how visitors
rated them, and what was refunded or credited; by day, over a chosen range."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from chatserver.domain.clock import YEARS


@dataclass(frozen=True)
class Chat:
    """One conversation as the reports see it (times in seconds since the epoch)."""

    day: date
    created: float
    waiting_since: float
    assigned: float | None  # when the first agent took it: later transfers do not count
    first_response: float | None  # the first agent message
    closed: float | None
    answered_by: tuple[str, ...]  # every agent who wrote to the visitor in it
    rating: int | None
    comment: str | None
    conversation_id: int


@dataclass(frozen=True)
class Money:
    day: date
    kind: str  # refund | credit
    cents: int
    currency: str


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (p from 0 to 100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-round(p * len(ordered)) // 100)  # ceil(p% of n) in whole numbers: no float drift
    return ordered[max(0, rank - 1)]


def spread(values: Sequence[float]) -> dict[str, float | None]:
    return {"median": percentile(values, 50), "p90": percentile(values, 90),
            "count": len(values)}


MAX_DAYS = 366


def day_range(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """The days a report covers, from the texts asked for: `last` (default today) back to
    `first` (default the 7 days to `last`). ValueError saying what is wrong with them."""
    unreadable = f"dates are YYYY-MM-DD, from {YEARS[0]} to {YEARS[-1]}"
    try:
        to = date.fromisoformat(last) if last else today
        since = date.fromisoformat(first) if first else to - timedelta(days=6)
    except (ValueError, OverflowError):  # OverflowError: 7 days before 0001-01-03
        raise ValueError(unreadable) from None
    if since.year < YEARS[0] or to.year > YEARS[-1]:
        raise ValueError(unreadable)
    if since > to:
        raise ValueError("the first day must not be after the last")
    if (to - since).days > MAX_DAYS:
        raise ValueError("a range is at most a year")
    return since, to


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def report(chats: Sequence[Chat], money: Sequence[Money], first: date,
           last: date) -> dict[str, Any]:
    """Each day's figures and the totals over the range."""
    by_day: dict[date, list[Chat]] = defaultdict(list)
    for chat in chats:
        by_day[chat.day].append(chat)
    money_by_day: dict[date, list[Money]] = defaultdict(list)
    for entry in money:
        money_by_day[entry.day].append(entry)
    return {
        "from": first.isoformat(), "to": last.isoformat(),
        "days": [{"day": d.isoformat(), **figures(by_day[d], money_by_day[d])}
                 for d in days(first, last)],
        "total": figures(list(chats), list(money)),
    }


def figures(chats: Sequence[Chat], money: Sequence[Money]) -> dict[str, Any]:
    """`chats`: conversations started. `first_response_seconds`: from the visitor's first
    message to an agent's first reply. `waiting_seconds`: from queueing to the first agent
    taking the chat (a transfer does not restart it; chats never taken are left out).
    `resolution_seconds`: from the first message to the close. `missed`: closed without a
    reply. `chats_per_agent`: the chats each agent wrote to the visitor in; a chat two agents
    answered counts for both, so these may add up to more than `chats`."""
    ratings = [c.rating for c in chats if c.rating is not None]
    per_agent: dict[str, int] = defaultdict(int)
    for chat in chats:
        for agent in chat.answered_by:
            per_agent[agent] += 1
    totals: dict[str, dict[str, int]] = {"refund": defaultdict(int), "credit": defaultdict(int)}
    for entry in money:
        totals[entry.kind][entry.currency] += entry.cents
    return {
        "chats": len(chats),
        "first_response_seconds": spread([c.first_response - c.created for c in chats
                                          if c.first_response is not None]),
        "waiting_seconds": spread([c.assigned - c.waiting_since for c in chats
                                   if c.assigned is not None]),
        "resolution_seconds": spread([c.closed - c.created for c in chats
                                      if c.closed is not None]),
        "missed": sum(1 for c in chats if c.closed is not None and c.first_response is None),
        "chats_per_agent": dict(sorted(per_agent.items())),
        "satisfaction": {
            "average": round(sum(ratings) / len(ratings), 2) if ratings else None,
            "ratings": len(ratings),
            "comments": [{"conversation_id": c.conversation_id, "score": c.rating,
                          "comment": c.comment} for c in chats if c.comment],
        },
        "refunds": {"count": sum(1 for m in money if m.kind == "refund"),
                    "cents": dict(totals["refund"])},
        "credits": {"count": sum(1 for m in money if m.kind == "credit"),
                    "cents": dict(totals["credit"])},
    }
