"""Refunds carried out by a payment provider (Stripe), as SQLite's (sqlite/provider_refunds.py
says what each does), and PostgresStore's methods that run them. The entry's row is locked
while a report is applied: the provider's answer and its webhook, arriving at once at two
processes, are applied one after the other."""

from __future__ import annotations

from typing import Any

from chatserver.domain import provider_refunds
from chatserver.domain.clock import iso, now
from chatserver.domain.models import SYSTEM, Message
from chatserver.domain.money import Money
from chatserver.domain.provider_refunds import RefundState, Reported
from chatserver.store.postgres import views
from chatserver.store.postgres.connection import Connection, Runs
from chatserver.store.postgres.conversations import insert_message
from chatserver.store.postgres.customers import audit
from chatserver.store.types import OnCommit, Outcome, RefundDue


def waiting() -> dict[str, Any]:
    """A new ledger entry's columns while its provider has yet to answer."""
    return {"provider_key": provider_refunds.new_key(),
            "provider_status": provider_refunds.WAITING.status,
            "provider_updated_at": iso(now())}


async def due(db: Connection, entry_id: int) -> RefundDue | None:
    row = await db.fetchrow(
        "SELECT l.id, l.provider, l.provider_key, o.provider_payment_id, l.amount_cents "
        "FROM ledger l JOIN orders o ON o.id = l.order_id WHERE l.id = $1 AND "
        "l.provider <> 'manual' AND l.provider_refund_id IS NULL AND "
        "l.provider_status = 'pending'", entry_id)
    return RefundDue(*row) if row is not None and row["provider_payment_id"] else None


async def settle(db: Connection, entry_id: int, report: RefundState) -> Outcome:
    row = await db.fetchrow("SELECT l.*, o.external_id AS order_external_id FROM ledger l "
                            "JOIN orders o ON o.id = l.order_id WHERE l.id = $1 "
                            "FOR UPDATE OF l", entry_id)
    before = RefundState(row["provider_refund_id"], row["provider_status"],
                         row["provider_error"])
    after = provider_refunds.after(before, report)
    notice, visitor_id = None, None
    if after is not None:
        await db.execute("UPDATE ledger SET provider_refund_id = $1, provider_status = $2, "
                         "provider_error = $3, provider_updated_at = $4 WHERE id = $5",
                         after.refund_id, after.status, after.error, iso(now()), entry_id)
        await audit(db, None, "refund.provider_status", row["customer_id"],
                    {"ledger_id": entry_id, "provider": row["provider"], **after.__dict__})
        text = provider_refunds.notice(before, after, Money(row["amount_cents"],
                                                            row["currency"]),
                                       row["order_external_id"])
        if text is not None and row["conversation_id"] is not None:
            notice = await insert_message(db, row["conversation_id"], SYSTEM, text)
            visitor_id = await db.fetchval("SELECT visitor_id FROM conversations WHERE id = $1",
                                           row["conversation_id"])
    return Outcome(200, {"refund": await views.entry(db, entry_id)}, notice, visitor_id)


async def unanswered(db: Connection, since_before: str) -> list[int]:
    return [row[0] for row in await db.fetch(
        "SELECT id FROM ledger WHERE provider <> 'manual' AND provider_refund_id IS NULL "
        "AND provider_status = 'pending' AND provider_updated_at < $1 ORDER BY id LIMIT 100",
        since_before)]


async def reported(db: Connection, provider: str, report: Reported) -> Outcome | None:
    entry_id = await db.fetchval(
        "SELECT id FROM ledger WHERE provider = $1 AND (provider_refund_id = $2 OR "
        "(id = $3 AND provider_refund_id IS NULL)) ORDER BY provider_refund_id IS NULL LIMIT 1",
        provider, report.state.refund_id, report.entry_id)
    return await settle(db, entry_id, report.state) if entry_id is not None else None


def _notice(outcome: Outcome | None) -> Message | None:
    return outcome.notice if outcome is not None else None


class ProviderRefundMethods(Runs):
    async def refund_due(self, entry_id: int) -> RefundDue | None:
        return await self.read(lambda db: due(db, entry_id))

    async def settle_refund(self, entry_id: int, report: RefundState,
                            on_commit: OnCommit[Outcome] = None) -> Outcome:
        return await self.transaction(lambda db: settle(db, entry_id, report), on_commit,
                                      _notice)

    async def refunds_unanswered(self, since_before: str) -> list[int]:
        return await self.read(lambda db: unanswered(db, since_before))

    async def refund_reported(self, provider: str, report: Reported,
                              on_commit: OnCommit[Outcome | None] = None) -> Outcome | None:
        return await self.transaction(lambda db: reported(db, provider, report), on_commit,
                                      _notice)
