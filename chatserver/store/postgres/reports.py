"""The rows the reports are made from, and PostgresStore's method that reads them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from chatserver.domain import clock
from chatserver.domain.reports import Chat, Money
from chatserver.store.base import ReportFacts
from chatserver.store.postgres import views
from chatserver.store.postgres.connection import Connection, Runs


def _time(text: str | None) -> float | None:
    return clock.parse(text) if text else None


def _range(first: date, last: date) -> tuple[str, str]:
    """From the first day to the last (UTC), inclusive, as the ISO text times are kept in."""
    return first.isoformat(), (last + timedelta(days=1)).isoformat()


async def chats(db: Connection, first: date, last: date) -> list[Chat]:
    """Conversations started from the first day to the last (UTC), inclusive."""
    since, until = _range(first, last)
    answered = await _answered_by(db, since, until)
    found = await db.fetch(
        "SELECT c.id, c.created_at, c.waiting_since, c.first_assigned_at, c.closed_at, "
        "c.rating_score, c.rating_comment, "
        "(SELECT MIN(created_at) FROM messages WHERE conversation_id = c.id AND "
        "author_role = 'agent' AND seq IS NOT NULL) AS first_response "
        "FROM conversations c WHERE c.created_at >= $1 AND c.created_at < $2 ORDER BY c.id",
        since, until)
    return [Chat(day=date.fromisoformat(r["created_at"][:10]),
                 created=clock.parse(r["created_at"]),
                 waiting_since=clock.parse(r["waiting_since"]),
                 assigned=_time(r["first_assigned_at"]),
                 first_response=_time(r["first_response"]), closed=_time(r["closed_at"]),
                 answered_by=tuple(answered[r["id"]]), rating=r["rating_score"],
                 comment=r["rating_comment"], conversation_id=r["id"]) for r in found]


async def _answered_by(db: Connection, since: str, until: str) -> dict[int, list[str]]:
    """The agents who wrote to the visitor (a note is no answer) in each conversation
    started in the range, by their current name (each agent once per conversation, two of
    one name twice)."""
    answered: dict[int, list[str]] = defaultdict(list)
    for row in await db.fetch(
            "SELECT DISTINCT c.id, a.id AS agent_id, a.name FROM conversations c "
            "JOIN messages m ON m.conversation_id = c.id AND m.author_role = 'agent' AND "
            "m.seq IS NOT NULL JOIN agents a ON a.id::text = m.author_id "
            "WHERE c.created_at >= $1 AND c.created_at < $2 ORDER BY c.id, a.name",
            since, until):
        answered[row["id"]].append(row["name"])
    return answered


async def money(db: Connection, first: date, last: date) -> list[Money]:
    found = await db.fetch(
        "SELECT created_at, kind, amount_cents, currency FROM ledger WHERE created_at >= $1 "
        f"AND created_at < $2 AND {views.COUNTED} ORDER BY id", *_range(first, last))
    return [Money(date.fromisoformat(r["created_at"][:10]), r["kind"], r["amount_cents"],
                  r["currency"]) for r in found]


class ReportMethods(Runs):
    async def report_facts(self, first: date, last: date) -> ReportFacts:
        async def gather(db: Connection) -> ReportFacts:
            return ReportFacts(await chats(db, first, last), await money(db, first, last))
        return await self.read(gather)
