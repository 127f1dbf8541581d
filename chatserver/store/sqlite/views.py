"""How customers, orders, ledger entries and approvals look from outside (REST, console).

Plain functions over a `sqlite3.Connection`, used both to answer reads and, inside a money
action's transaction, to decide on the very figures the answer shows.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import orjson

from chatserver.domain import ledger
from chatserver.domain.ledger import PastRefund, Purchase, RefundFigures
from chatserver.domain.money import Money
from chatserver.store import records

# a ledger entry that moved money, or may yet: all but a provider's failed refunds
COUNTED = "COALESCE(provider_status, '') != 'failed'"
ORDER_SELECT = (
    "SELECT o.*, "
    f"(SELECT COALESCE(SUM(amount_cents), 0) FROM ledger WHERE order_id = o.id AND {COUNTED}) "
    "AS refunded, "
    "(SELECT COALESCE(SUM(amount_cents), 0) FROM approvals WHERE order_id = o.id AND "
    "status = 'pending') AS reserved FROM orders o ")


def order_refunds(db: sqlite3.Connection, order_id: int) -> tuple[int, int]:
    """What an order has had refunded, and what waits for approval (reserved)."""
    row = db.execute(ORDER_SELECT + "WHERE o.id = ?", (order_id,)).fetchone()
    return int(row["refunded"]), int(row["reserved"])


def order(db: sqlite3.Connection, order_id: int) -> dict[str, Any]:
    return _order(db.execute(ORDER_SELECT + "WHERE o.id = ?", (order_id,)).fetchone(), db)


def _order(row: sqlite3.Row, db: sqlite3.Connection) -> dict[str, Any]:
    return records.order(row, (r[0] for r in db.execute(
        "SELECT conversation_id FROM verifications WHERE order_id = ? ORDER BY conversation_id",
        (row["id"],))))


def entry(db: sqlite3.Connection, entry_id: int) -> dict[str, Any]:
    row = db.execute(
        "SELECT l.*, a.name AS agent_name, o.external_id AS order_external_id FROM ledger l "
        "JOIN agents a ON a.id = l.agent_id LEFT JOIN orders o ON o.id = l.order_id "
        "WHERE l.id = ?", (entry_id,)).fetchone()
    return records.entry(row)


def approval(db: sqlite3.Connection, approval_id: int) -> dict[str, Any]:
    row = db.execute(APPROVAL_SELECT + "WHERE p.id = ?", (approval_id,)).fetchone()
    return records.approval(row)


APPROVAL_SELECT = (
    "SELECT p.*, r.name AS requested_by_name, d.name AS decided_by_name, "
    "o.external_id AS order_external_id FROM approvals p "
    "JOIN agents r ON r.id = p.requested_by LEFT JOIN agents d ON d.id = p.decided_by "
    "LEFT JOIN orders o ON o.id = p.order_id ")


def approvals(db: sqlite3.Connection, status: str | None,
              requested_by: int | None) -> list[dict[str, Any]]:
    """Approvals (of one status), all or those one agent asked for."""
    return [records.approval(r) for r in db.execute(
        APPROVAL_SELECT + "WHERE (?1 IS NULL OR p.status = ?1) AND (?2 IS NULL OR "
        "p.requested_by = ?2) ORDER BY p.id", (status, requested_by))]


def refund_figures(db: sqlite3.Connection, customer_id: int,
                   at: datetime | None = None) -> RefundFigures:
    """The customer's refund habits, as the agent sees them beside a refund."""
    at = at or datetime.now(UTC)
    since = db.execute("SELECT created_at FROM customers WHERE id = ?",
                       (customer_id,)).fetchone()[0]
    purchases = [Purchase(r[0], _time(r[1])) for r in db.execute(
        "SELECT amount_cents, purchased_at FROM orders WHERE customer_id = ?", (customer_id,))]
    contacts = [_time(r[0]) for r in db.execute(
        "SELECT created_at FROM conversations WHERE customer_id = ?", (customer_id,))]
    asked = db.execute(  # a refund is asked when its conversation starts
        "SELECT l.amount_cents, l.created_at, COALESCE((SELECT created_at FROM conversations "
        "WHERE id = l.conversation_id), l.created_at) FROM ledger l "
        f"WHERE l.customer_id = ? AND l.kind = 'refund' AND {COUNTED}", (customer_id,)).fetchall()
    refunds = [PastRefund(cents, _time(at), ledger.prior_contact(_time(asked_at), contacts))
               for cents, at, asked_at in asked]
    return ledger.figures(purchases, refunds, _time(since), at)


def customer(db: sqlite3.Connection, customer_id: int) -> dict[str, Any]:
    """Everything about one customer: orders, ledger, balances, conversations, figures."""
    row = db.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
    at = datetime.now(UTC)
    entries = [records.entry(r) for r in db.execute(
        "SELECT l.*, a.name AS agent_name, o.external_id AS order_external_id FROM ledger l "
        "JOIN agents a ON a.id = l.agent_id LEFT JOIN orders o ON o.id = l.order_id "
        "WHERE l.customer_id = ? ORDER BY l.id", (customer_id,))]
    credits = [(Money(e["amount_cents"], e["currency"]), ledger.parse_time(e["expires_at"]))
               for e in entries if e["kind"] == "credit"]
    return {
        **summary(db, row),
        "orders": [_order(r, db) for r in db.execute(
            ORDER_SELECT + "WHERE o.customer_id = ? ORDER BY o.purchased_at DESC",
            (customer_id,))],
        "ledger": entries,
        "credit_balances": ledger.credit_balance(credits, at),
        "approvals": [records.approval(r) for r in db.execute(
            APPROVAL_SELECT + "WHERE p.customer_id = ? ORDER BY p.id", (customer_id,))],
        "conversations": [dict(r) for r in db.execute(
            "SELECT c.id, c.status, c.created_at, c.closed_at, a.name AS agent_name, "
            "c.rating_score FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id "
            "WHERE c.customer_id = ? ORDER BY c.id DESC", (customer_id,))],
        "refund_figures": refund_figures(db, customer_id, at).as_dict(),
        "audit": [{"at": r["at"], "agent": r["name"], "action": r["action"],
                   "detail": orjson.loads(r["detail"])} for r in db.execute(
            "SELECT l.at, a.name, l.action, l.detail FROM audit_log l LEFT JOIN agents a "
            "ON a.id = l.agent_id WHERE l.customer_id = ? ORDER BY l.id", (customer_id,))],
    }


def summary(db: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    verified = db.execute("SELECT 1 FROM visitors WHERE customer_id = ? AND verified = 1",
                          (row["id"],)).fetchone() is not None
    return {"id": row["id"], "email": row["email"], "name": row["name"],
            "external_user_id": row["external_user_id"], "created_at": row["created_at"],
            "verified": verified}


def customers_by_email(db: sqlite3.Connection, email: str) -> list[dict[str, Any]]:
    return [summary(db, r) for r in db.execute(
        "SELECT * FROM customers WHERE email = ? COLLATE NOCASE AND merged_into IS NULL "
        "ORDER BY id", (email.strip(),))]


def _time(text: str) -> datetime:
    moment = ledger.parse_time(text)
    assert moment is not None
    return moment
