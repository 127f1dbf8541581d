"""Refunds carried out by a payment provider (Stripe): the entry's refund still to ask for,
and the provider's answers and webhooks applied to it (the rules are
domain/provider_refunds.py's), with SqliteStore's methods that run them (the class at the
end). The outbox's `refund.updated` is written by a trigger on the status (migration 16)."""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any

from chatserver.domain import provider_refunds
from chatserver.domain.clock import iso, now
from chatserver.domain.models import SYSTEM
from chatserver.domain.money import Money
from chatserver.domain.provider_refunds import RefundState, Reported
from chatserver.store.sqlite import views
from chatserver.store.sqlite.connection import Runs
from chatserver.store.sqlite.conversations import insert_message
from chatserver.store.sqlite.customers import audit
from chatserver.store.types import OnCommit, Outcome, RefundDue


def waiting() -> dict[str, Any]:
    """A new ledger entry's columns while its provider has yet to answer."""
    state = provider_refunds.WAITING
    return {"provider_key": provider_refunds.new_key(), "provider_status": state.status,
            "provider_updated_at": iso(now())}


def due(db: sqlite3.Connection, entry_id: int) -> RefundDue | None:
    row = db.execute(
        "SELECT l.id, l.provider, l.provider_key, o.provider_payment_id, l.amount_cents "
        "FROM ledger l JOIN orders o ON o.id = l.order_id WHERE l.id = ? AND "
        "l.provider != 'manual' AND l.provider_refund_id IS NULL AND "
        "l.provider_status = 'pending'", (entry_id,)).fetchone()
    return RefundDue(*row) if row is not None and row["provider_payment_id"] else None


def settle(db: sqlite3.Connection, entry_id: int, report: RefundState) -> Outcome:
    row = db.execute("SELECT l.*, o.external_id AS order_external_id FROM ledger l "
                     "JOIN orders o ON o.id = l.order_id WHERE l.id = ?", (entry_id,)).fetchone()
    before = RefundState(row["provider_refund_id"], row["provider_status"],
                         row["provider_error"])
    after = provider_refunds.after(before, report)
    notice, visitor_id = None, None
    if after is not None:
        db.execute("UPDATE ledger SET provider_refund_id = ?, provider_status = ?, "
                   "provider_error = ?, provider_updated_at = ? WHERE id = ?",
                   (after.refund_id, after.status, after.error, iso(now()), entry_id))
        audit(db, None, "refund.provider_status", row["customer_id"],
              {"ledger_id": entry_id, "provider": row["provider"], **after.__dict__})
        text = provider_refunds.notice(before, after, Money(row["amount_cents"],
                                                            row["currency"]),
                                       row["order_external_id"])
        if text is not None and row["conversation_id"] is not None:
            notice = insert_message(db, row["conversation_id"], SYSTEM, text)
            visitor_id = db.execute("SELECT visitor_id FROM conversations WHERE id = ?",
                                    (row["conversation_id"],)).fetchone()[0]
    return Outcome(200, {"refund": views.entry(db, entry_id)}, notice, visitor_id)


def unanswered(db: sqlite3.Connection, since_before: str) -> list[int]:
    return [row[0] for row in db.execute(
        "SELECT id FROM ledger WHERE provider != 'manual' AND provider_refund_id IS NULL "
        "AND provider_status = 'pending' AND provider_updated_at < ? ORDER BY id LIMIT 100",
        (since_before,))]


def reported(db: sqlite3.Connection, provider: str, report: Reported) -> Outcome | None:
    row = db.execute(
        "SELECT id FROM ledger WHERE provider = ?1 AND (provider_refund_id = ?2 OR "
        "(id = ?3 AND provider_refund_id IS NULL)) ORDER BY provider_refund_id IS NULL LIMIT 1",
        (provider, report.state.refund_id, report.entry_id)).fetchone()
    return settle(db, row["id"], report.state) if row is not None else None


class ProviderRefundMethods(Runs):
    async def refund_due(self, entry_id: int) -> RefundDue | None:
        return await self.read(partial(due, entry_id=entry_id))

    async def settle_refund(self, entry_id: int, report: RefundState,
                            on_commit: OnCommit[Outcome] = None) -> Outcome:
        return await self.transaction(partial(settle, entry_id=entry_id, report=report),
                                      on_commit)

    async def refunds_unanswered(self, since_before: str) -> list[int]:
        return await self.read(partial(unanswered, since_before=since_before))

    async def refund_reported(self, provider: str, report: Reported,
                              on_commit: OnCommit[Outcome | None] = None) -> Outcome | None:
        return await self.transaction(partial(reported, provider=provider, report=report),
                                      on_commit)
