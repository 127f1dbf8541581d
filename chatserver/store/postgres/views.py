"""How customers, orders, ledger entries and approvals look from outside (REST, console).

Async functions over a connection, used both to answer reads and, inside a money action's
transaction, to decide on the very figures the answer shows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from chatserver.domain import ledger
from chatserver.domain.ledger import PastRefund, Purchase, RefundFigures
from chatserver.domain.money import Money
from chatserver.store import records
from chatserver.store.postgres.connection import Connection, Record

# a ledger entry that moved money, or may yet: all but a provider's failed refunds
COUNTED = "COALESCE(provider_status, '') <> 'failed'"
ORDER_SELECT = (
    "SELECT o.*, "
    f"(SELECT COALESCE(SUM(amount_cents), 0) FROM ledger WHERE order_id = o.id AND {COUNTED}) "
    "AS refunded, "
    "(SELECT COALESCE(SUM(amount_cents), 0) FROM approvals WHERE order_id = o.id AND "
    "status = 'pending') AS reserved FROM orders o ")
ENTRY_SELECT = (
    "SELECT l.*, a.name AS agent_name, o.external_id AS order_external_id FROM ledger l "
    "JOIN agents a ON a.id = l.agent_id LEFT JOIN orders o ON o.id = l.order_id ")
APPROVAL_SELECT = (
    "SELECT p.*, r.name AS requested_by_name, d.name AS decided_by_name, "
    "o.external_id AS order_external_id FROM approvals p "
    "JOIN agents r ON r.id = p.requested_by LEFT JOIN agents d ON d.id = p.decided_by "
    "LEFT JOIN orders o ON o.id = p.order_id ")


async def order_refunds(db: Connection, order_id: int) -> tuple[int, int]:
    """What an order has had refunded, and what waits for approval (reserved)."""
    row = await db.fetchrow(ORDER_SELECT + "WHERE o.id = $1", order_id)
    return int(row["refunded"]), int(row["reserved"])


async def order(db: Connection, order_id: int) -> dict[str, Any]:
    return await _order(db, await db.fetchrow(ORDER_SELECT + "WHERE o.id = $1", order_id))


async def _order(db: Connection, row: Record) -> dict[str, Any]:
    verified_in = await db.fetch("SELECT conversation_id FROM verifications WHERE order_id = $1 "
                                 "ORDER BY conversation_id", row["id"])
    return records.order(_summed(row), (r[0] for r in verified_in))


def _summed(row: Record) -> dict[str, Any]:
    """PostgreSQL sums BIGINTs as NUMERIC: back to int, as SQLite gives them."""
    return {**row, "refunded": int(row["refunded"]), "reserved": int(row["reserved"])}


async def entry(db: Connection, entry_id: int) -> dict[str, Any]:
    return records.entry(await db.fetchrow(ENTRY_SELECT + "WHERE l.id = $1", entry_id))


async def approval(db: Connection, approval_id: int) -> dict[str, Any]:
    return records.approval(await db.fetchrow(APPROVAL_SELECT + "WHERE p.id = $1",
                                              approval_id))


async def approvals(db: Connection, status: str | None,
                    requested_by: int | None) -> list[dict[str, Any]]:
    """Approvals (of one status), all or those one agent asked for."""
    return [records.approval(r) for r in await db.fetch(
        APPROVAL_SELECT + "WHERE ($1::text IS NULL OR p.status = $1) AND "
        "($2::bigint IS NULL OR p.requested_by = $2) ORDER BY p.id", status, requested_by)]


async def refund_figures(db: Connection, customer_id: int,
                         at: datetime | None = None) -> RefundFigures:
    """The customer's refund habits, as the agent sees them beside a refund."""
    at = at or datetime.now(UTC)
    since = await db.fetchval("SELECT created_at FROM customers WHERE id = $1", customer_id)
    purchases = [Purchase(r[0], _time(r[1])) for r in await db.fetch(
        "SELECT amount_cents, purchased_at FROM orders WHERE customer_id = $1", customer_id)]
    contacts = [_time(r[0]) for r in await db.fetch(
        "SELECT created_at FROM conversations WHERE customer_id = $1", customer_id)]
    asked = await db.fetch(  # a refund is asked when its conversation starts
        "SELECT l.amount_cents, l.created_at, COALESCE((SELECT created_at FROM conversations "
        "WHERE id = l.conversation_id), l.created_at) FROM ledger l "
        f"WHERE l.customer_id = $1 AND l.kind = 'refund' AND {COUNTED}", customer_id)
    refunds = [PastRefund(cents, _time(at), ledger.prior_contact(_time(asked_at), contacts))
               for cents, at, asked_at in asked]
    return ledger.figures(purchases, refunds, _time(since), at)


async def customer(db: Connection, customer_id: int) -> dict[str, Any]:
    """Everything about one customer: orders, ledger, balances, conversations, figures."""
    row = await db.fetchrow("SELECT * FROM customers WHERE id = $1", customer_id)
    at = datetime.now(UTC)
    entries = [records.entry(r) for r in await db.fetch(
        ENTRY_SELECT + "WHERE l.customer_id = $1 ORDER BY l.id", customer_id)]
    credits = [(Money(e["amount_cents"], e["currency"]), ledger.parse_time(e["expires_at"]))
               for e in entries if e["kind"] == "credit"]
    return {
        **await summary(db, row),
        "orders": [await _order(db, r) for r in await db.fetch(
            ORDER_SELECT + "WHERE o.customer_id = $1 ORDER BY o.purchased_at DESC",
            customer_id)],
        "ledger": entries,
        "credit_balances": ledger.credit_balance(credits, at),
        "approvals": [records.approval(r) for r in await db.fetch(
            APPROVAL_SELECT + "WHERE p.customer_id = $1 ORDER BY p.id", customer_id)],
        "conversations": [dict(r) for r in await db.fetch(
            "SELECT c.id, c.status, c.created_at, c.closed_at, a.name AS agent_name, "
            "c.rating_score FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id "
            "WHERE c.customer_id = $1 ORDER BY c.id DESC", customer_id)],
        "refund_figures": (await refund_figures(db, customer_id, at)).as_dict(),
        "audit": [{"at": r["at"], "agent": r["name"], "action": r["action"],
                   "detail": orjson.loads(r["detail"])} for r in await db.fetch(
            "SELECT l.at, a.name, l.action, l.detail FROM audit_log l LEFT JOIN agents a "
            "ON a.id = l.agent_id WHERE l.customer_id = $1 ORDER BY l.id", customer_id)],
    }


async def summary(db: Connection, row: Record) -> dict[str, Any]:
    verified = await db.fetchval("SELECT 1 FROM visitors WHERE customer_id = $1 AND verified",
                                 row["id"]) is not None
    return {"id": row["id"], "email": row["email"], "name": row["name"],
            "external_user_id": row["external_user_id"], "created_at": row["created_at"],
            "verified": verified}


async def customers_by_email(db: Connection, email: str) -> list[dict[str, Any]]:
    return [await summary(db, r) for r in await db.fetch(
        "SELECT * FROM customers WHERE lower(email) = lower($1) AND merged_into IS NULL "
        "ORDER BY id", email.strip())]


def _time(text: str) -> datetime:
    moment = ledger.parse_time(text)
    assert moment is not None
    return moment
