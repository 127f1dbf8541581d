"""Customers and their orders, saved directly or by signed webhook: plain functions over a
`sqlite3.Connection` (the writer's, or a read snapshot's for `view`), and SqliteStore's
methods that run them (the class at the end).

A customer is found by the shop's user id (from a verified identity) or by email (from an
order). When both turn out to be two records of one person, they are merged: the newer
record points at the older one (`merged_into`) and everything it held moves over.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any

import orjson

from chatserver.domain import ledger, orders, webhook
from chatserver.domain.clock import iso, now
from chatserver.domain.money import Money
from chatserver.domain.webhook import TOLERANCE_SECONDS
from chatserver.store.sqlite import views
from chatserver.store.sqlite.connection import Runs
from chatserver.store.types import Change, OrderChange

OWNED = ("orders", "ledger", "approvals", "conversations", "visitors")


def by_email(db: sqlite3.Connection, email: str, name: str | None) -> int:
    """The customer with this email (made if new)."""
    row = db.execute("SELECT id FROM customers WHERE email = ? COLLATE NOCASE AND "
                     "merged_into IS NULL ORDER BY id LIMIT 1", (email,)).fetchone()
    if row is not None:
        return int(row["id"])
    cursor = db.execute("INSERT INTO customers (email, name, created_at) VALUES (?, ?, ?)",
                        (email, name, iso(now())))
    return int(cursor.lastrowid or 0)


def by_identity(db: sqlite3.Connection, user_id: str, email: str, name: str | None) -> int:
    """The customer a verified identity names, merging the one its email already had."""
    row = db.execute("SELECT id FROM customers WHERE external_user_id = ?",
                     (user_id,)).fetchone()
    by_mail = db.execute("SELECT id FROM customers WHERE email = ? COLLATE NOCASE AND "
                         "merged_into IS NULL AND external_user_id IS NULL ORDER BY id LIMIT 1",
                         (email,)).fetchone()
    if row is None and by_mail is None:
        cursor = db.execute("INSERT INTO customers (external_user_id, email, name, created_at) "
                            "VALUES (?, ?, ?, ?)", (user_id, email, name, iso(now())))
        return int(cursor.lastrowid or 0)
    if row is None:
        keep = int(by_mail["id"])
        db.execute("UPDATE customers SET external_user_id = ? WHERE id = ?", (user_id, keep))
    else:
        keep = int(row["id"])
        if by_mail is not None and by_mail["id"] != keep:
            keep = merge(db, keep, int(by_mail["id"]))
    db.execute("UPDATE customers SET email = ?, name = COALESCE(?, name) WHERE id = ?",
               (email, name, keep))
    return keep


def merge(db: sqlite3.Connection, one: int, other: int) -> int:
    """Merge two records of one customer into the older; returns the survivor's id."""
    keep, gone = min(one, other), max(one, other)
    user_ids = db.execute("SELECT external_user_id FROM customers WHERE id IN (?, ?) AND "
                          "external_user_id IS NOT NULL", (keep, gone)).fetchall()
    for table in OWNED:
        db.execute(f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?", (keep, gone))
    db.execute("UPDATE customers SET merged_into = ?, external_user_id = NULL WHERE id = ?",
               (keep, gone))
    if user_ids:
        db.execute("UPDATE customers SET external_user_id = ? WHERE id = ?",
                   (user_ids[0][0], keep))
    audit(db, None, "customer.merged", keep, {"merged": gone})
    return keep


def canonical(db: sqlite3.Connection, customer_id: int) -> int | None:
    """Follow merges to the record that stands; None if there is no such customer."""
    seen = set()
    while customer_id not in seen:
        seen.add(customer_id)
        row = db.execute("SELECT merged_into FROM customers WHERE id = ?",
                         (customer_id,)).fetchone()
        if row is None:
            return None
        if row["merged_into"] is None:
            return customer_id
        customer_id = int(row["merged_into"])
    return None


def view(db: sqlite3.Connection, customer_id: int) -> dict[str, Any] | None:
    """Everything about the customer (the record that stands after merges), or None."""
    found = canonical(db, customer_id)
    return views.customer(db, found) if found is not None else None


def save_order(db: sqlite3.Connection, fields: dict[str, Any]) -> OrderChange:
    """`upsert_order`, with the order as it looks now."""
    order_id, change = upsert_order(db, fields)
    return OrderChange(change, views.order(db, order_id))


def upsert_order(db: sqlite3.Connection, fields: dict[str, Any]) -> tuple[int, Change]:
    """Insert or update by `external_id`; returns the order id and created/updated/unchanged."""
    row = db.execute("SELECT * FROM orders WHERE external_id = ?",
                     (fields["external_id"],)).fetchone()
    stamp = iso(now())
    fields = orders.with_kept_fields(fields, row, stamp)
    customer_id = by_email(db, fields["email"], fields.get("name"))
    values = [fields[c] for c in orders.COLUMNS]
    if row is None:
        cursor = db.execute(
            f"INSERT INTO orders (customer_id, {', '.join(orders.COLUMNS)}, created_at, "
            f"updated_at) VALUES (?, {', '.join('?' for _ in orders.COLUMNS)}, ?, ?)",
            (customer_id, *values, stamp, stamp))
        return int(cursor.lastrowid or 0), "created"
    if [row[c] for c in orders.COLUMNS] == values:
        return int(row["id"]), "unchanged"
    if orders.same_buyer(row["email"], fields["email"]):
        customer_id = row["customer_id"]
    ledger.check_order_update(Money(row["amount_cents"], row["currency"]),
                              Money(fields["amount_cents"], fields["currency"]),
                              *views.order_refunds(db, row["id"]),
                              new_buyer=canonical(db, customer_id) != canonical(
                                  db, row["customer_id"]))
    db.execute(f"UPDATE orders SET customer_id = ?, {', '.join(c + ' = ?' for c in orders.COLUMNS)}"
               ", updated_at = ? WHERE id = ?", (customer_id, *values, stamp, row["id"]))
    return int(row["id"]), "updated"


def audit(db: sqlite3.Connection, agent_id: int | None, action: str, customer_id: int | None,
          detail: dict[str, Any]) -> None:
    db.execute("INSERT INTO audit_log (at, agent_id, action, customer_id, detail) "
               "VALUES (?, ?, ?, ?, ?)",
               (iso(now()), agent_id, action, customer_id, orjson.dumps(detail).decode()))


# --- signed order webhooks: none applied twice, and none after a newer one for its order ---
def apply_order(db: sqlite3.Connection, fields: dict[str, Any], timestamp: int, signature: str,
                now: float) -> OrderChange | None:
    """The webhook's order saved, or None (nothing changed) for a replay or an older one."""
    if not accept(db, fields["external_id"], timestamp, signature, now):
        return None
    saved = save_order(db, fields)
    db.execute("UPDATE orders SET webhook_timestamp = ? WHERE id = ?",
               (timestamp, saved.order["id"]))
    return saved


def refund_elsewhere(db: sqlite3.Connection, shop_ref: str, refund_id: str,
                     cents: int) -> OrderChange | None:
    """A refund the shop's platform reports for its order `shop_ref` (None: no such order)."""
    row = db.execute("SELECT * FROM orders WHERE shop_ref = ?", (shop_ref,)).fetchone()
    return save_order(db, orders.refund_elsewhere(row, refund_id, cents)) if row else None


def accept(db: sqlite3.Connection, external_id: str, timestamp: int, signature: str,
           now: float) -> bool:
    """Record a webhook about to be applied, if it applies. Receipts are kept only while a
    replay of them could still pass the five-minute window."""
    db.execute("DELETE FROM webhook_receipts WHERE timestamp < ?", (now - TOLERANCE_SECONDS,))
    replayed = db.execute("SELECT 1 FROM webhook_receipts WHERE signature = ?",
                          (signature,)).fetchone() is not None
    last = db.execute("SELECT webhook_timestamp FROM orders WHERE external_id = ?",
                      (external_id,)).fetchone()
    if not webhook.applies(replayed, last[0] if last is not None else None, timestamp):
        return False
    db.execute("INSERT INTO webhook_receipts (signature, timestamp) VALUES (?, ?)",
               (signature, timestamp))
    return True


class CustomerMethods(Runs):
    async def upsert_order(self, fields: dict[str, Any]) -> OrderChange:
        return await self.transaction(partial(save_order, fields=fields))

    async def webhook_order(self, fields: dict[str, Any], timestamp: int,
                            signature: str) -> OrderChange | None:
        return await self.transaction(partial(apply_order, fields=fields, timestamp=timestamp,
                                              signature=signature, now=now()))

    async def refund_elsewhere(self, shop_ref: str, refund_id: str,
                               cents: int) -> OrderChange | None:
        return await self.transaction(partial(refund_elsewhere, shop_ref=shop_ref,
                                              refund_id=refund_id, cents=cents))

    async def customer(self, customer_id: int) -> dict[str, Any] | None:
        return await self.read(partial(view, customer_id=customer_id))

    async def customers_by_email(self, email: str) -> list[dict[str, Any]]:
        return await self.read(partial(views.customers_by_email, email=email))
