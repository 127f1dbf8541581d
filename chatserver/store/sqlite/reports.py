"""The rows the reports are made from, and SqliteStore's method that reads them."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, timedelta

from chatserver.domain import clock
from chatserver.domain.reports import Chat, Money
from chatserver.store.base import ReportFacts
from chatserver.store.sqlite import views
from chatserver.store.sqlite.connection import Runs


def _time(text: str | None) -> float | None:
    return clock.parse(text) if text else None


def chats(db: sqlite3.Connection, first: date, last: date) -> list[Chat]:
    """Conversations started from the first day to the last (UTC), inclusive."""
    since, until = first.isoformat(), (last + timedelta(days=1)).isoformat()
    answered = _answered_by(db, since, until)
    found = db.execute(
        "SELECT c.id, c.created_at, c.waiting_since, c.first_assigned_at, c.closed_at, "
        "c.rating_score, c.rating_comment, "
        "(SELECT MIN(created_at) FROM messages WHERE conversation_id = c.id AND "
        "author_role = 'agent' AND seq IS NOT NULL) AS first_response "
        "FROM conversations c WHERE c.created_at >= ? AND c.created_at < ? ORDER BY c.id",
        (since, until))
    return [Chat(day=date.fromisoformat(r["created_at"][:10]),
                 created=clock.parse(r["created_at"]),
                 waiting_since=clock.parse(r["waiting_since"]),
                 assigned=_time(r["first_assigned_at"]),
                 first_response=_time(r["first_response"]), closed=_time(r["closed_at"]),
                 answered_by=tuple(answered[r["id"]]), rating=r["rating_score"],
                 comment=r["rating_comment"], conversation_id=r["id"]) for r in found]


def _answered_by(db: sqlite3.Connection, since: str, until: str) -> dict[int, list[str]]:
    """The agents who wrote to the visitor (a note is no answer) in each conversation
    started in the range, by their current name (each agent once per conversation, two of
    one name twice)."""
    answered: dict[int, list[str]] = defaultdict(list)
    for row in db.execute(
            "SELECT DISTINCT c.id, a.id AS agent_id, a.name FROM conversations c "
            "JOIN messages m ON m.conversation_id = c.id AND m.author_role = 'agent' AND "
            "m.seq IS NOT NULL JOIN agents a ON a.id = m.author_id "
            "WHERE c.created_at >= ? AND c.created_at < ? ORDER BY c.id, a.name",
            (since, until)):
        answered[row["id"]].append(row["name"])
    return answered


def money(db: sqlite3.Connection, first: date, last: date) -> list[Money]:
    found = db.execute(
        "SELECT created_at, kind, amount_cents, currency FROM ledger WHERE created_at >= ? "
        f"AND created_at < ? AND {views.COUNTED} ORDER BY id",
        (first.isoformat(), (last + timedelta(days=1)).isoformat()))
    return [Money(date.fromisoformat(r["created_at"][:10]), r["kind"], r["amount_cents"],
                  r["currency"]) for r in found]


class ReportMethods(Runs):
    async def report_facts(self, first: date, last: date) -> ReportFacts:
        def gather(db: sqlite3.Connection) -> ReportFacts:
            return ReportFacts(chats(db, first, last), money(db, first, last))
        return await self.read(gather)
