"""What the left column's lists show of a conversation or a follow-up, as plain data for its
templates: names, how long a visitor has waited, who is unanswered, what is overdue, and the
searched words marked. Computed at `now` by the server; the lists are read again often enough
(every 15 or 30 s, and on the socket's news) for the labels to stay true."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chatserver.domain.clock import parse
from chatserver.store.base import ERASED, FollowUp, InboxEntry
from chatserver.web.console_views.wording import plural

QUERY_LIMIT = 200  # characters of a search, as the search box allows
STATUS_LABELS = {"active": "Open", "queued": "Queued", "closed": "Closed"}


def span(seconds: float) -> str:
    """A duration as the console shows it: `<1m`, `5m`, `2h 3m`, `1d 4h`."""
    if seconds < 60:
        return "<1m"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 24:
        return f"{hours}h {minutes % 60}m"
    return f"{hours // 24}d {hours % 24}h"


def visitor_name(visitor: dict[str, Any] | None, fallback_id: object) -> str:
    """The visitor's name, else `Visitor 1a2b3c` (from their id)."""
    visitor = visitor or {}
    if visitor.get("name"):
        return str(visitor["name"])
    return f"Visitor {str(visitor.get('id') or fallback_id)[:6]}"


def marked(text: str, query: str) -> list[tuple[str, bool]]:
    """`text` cut into parts, each with whether it is a word starting with one of the words of
    `query` (as the search matches prefixes): the template puts those in <mark>."""
    words = re.findall(r"\w+", query)
    if not words:
        return [(text, False)] if text else []
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")\w*",
                         re.IGNORECASE)
    parts: list[tuple[str, bool]] = []
    at = 0
    for found in pattern.finditer(text):
        if found.start() > at:
            parts.append((text[at:found.start()], False))
        parts.append((found.group(), True))
        at = found.end()
    if at < len(text):
        parts.append((text[at:], False))
    return parts


@dataclass(frozen=True)
class Listed:
    """A conversation as a list item."""
    row: InboxEntry
    name: str
    status_label: str
    waited: str | None  # how long the visitor has waited unanswered; None when answered
    flagged: bool  # waited at least the alert's threshold
    agent_is_me: bool
    escalated: bool
    preview: list[tuple[str, bool]]  # the snippet found by a search, else the last message


def listed(row: InboxEntry, now: float, alert_after: float, me: int, query: str = ""
           ) -> Listed:
    since = row["unanswered_since"] if row["status"] != "closed" else None
    waited = now - parse(since) if since else None
    found = row.get("snippet") if query else None
    agent = row["agent"]
    return Listed(
        row=row, name=ERASED if row["erased"] else visitor_name(row["visitor"], row["id"]),
        status_label=STATUS_LABELS.get(row["status"], row["status"]),
        waited=span(waited) if waited is not None else None,
        flagged=waited is not None and waited >= alert_after,
        agent_is_me=agent is not None and agent["id"] == me,
        escalated=bool(row["escalated_at"]) and row["status"] != "closed",
        preview=marked(found or row["last_message"] or "", query if found else ""))


@dataclass(frozen=True)
class Promised:
    """A follow-up as a list item."""
    item: FollowUp
    name: str
    overdue: bool
    due: str  # `Due in 5m` or `Overdue 2h 3m`


def promised(item: FollowUp, now: float) -> Promised:
    left = parse(item["due_at"]) - now
    overdue = item["overdue"] or left <= 0
    due = f"Overdue {span(-left)}" if overdue else f"Due in {span(left)}"
    return Promised(item=item, name=visitor_name(dict(item["visitor"]), item["conversation_id"]),
                    overdue=overdue, due=due)


@dataclass(frozen=True)
class TabCount:
    """The badge on a tab: a number, red when it needs attention, and what it counts."""
    name: str
    count: int
    alarm: bool
    label: str


def open_count(items: list[Listed]) -> TabCount:
    flagged = sum(item.flagged for item in items)
    return TabCount("open", flagged, True, f"{plural(flagged, 'visitor')} waiting unanswered")


def follow_ups_count(items: list[Promised]) -> TabCount:
    overdue = sum(item.overdue for item in items)
    if overdue:
        return TabCount("followups", overdue, True, f"{plural(overdue, 'follow-up')} overdue")
    return TabCount("followups", len(items), False, f"{plural(len(items), 'follow-up')} open")
