"""Customers and their orders, saved directly or by signed webhook: async functions over a
connection in a transaction (or a read snapshot's, for `view`), and PostgresStore's methods
that run them (the class at the end). The rules are SQLite's (sqlite/customers.py); what
PostgreSQL adds is the locks that make concurrent writers take turns where SQLite's one
writer did: the order's row, and a customer's email while one may be made for it.
"""

from __future__ import annotations

from typing import Any

import orjson

from chatserver.domain import ledger, orders, webhook
from chatserver.domain.clock import iso, now
from chatserver.domain.money import Money
from chatserver.domain.webhook import TOLERANCE_SECONDS
from chatserver.store.postgres import views
from chatserver.store.postgres.connection import Connection, Runs
from chatserver.store.types import Change, OrderChange

OWNED = ("orders", "ledger", "approvals", "conversations", "visitors")
BY_EMAIL = ("SELECT id FROM customers WHERE lower(email) = lower($1) AND merged_into IS NULL "
            "{} ORDER BY id LIMIT 1")


async def by_email(db: Connection, email: str, name: str | None) -> int:
    """The customer with this email (made if new: one at a time per email, in this schema;
    advisory locks are the database's, so another schema's store must not share ours)."""
    await db.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ' customer ' "
                     "|| lower($1)))", email)
    found = await db.fetchval(BY_EMAIL.format(""), email)
    if found is not None:
        return int(found)
    return int(await db.fetchval("INSERT INTO customers (email, name, created_at) "
                                 "VALUES ($1, $2, $3) RETURNING id", email, name, iso(now())))


async def by_identity(db: Connection, user_id: str, email: str, name: str | None) -> int:
    """The customer a verified identity names, merging the one its email already had."""
    row = await db.fetchval("SELECT id FROM customers WHERE external_user_id = $1", user_id)
    by_mail = await db.fetchval(BY_EMAIL.format("AND external_user_id IS NULL"), email)
    if row is None and by_mail is None:
        return int(await db.fetchval(
            "INSERT INTO customers (external_user_id, email, name, created_at) "
            "VALUES ($1, $2, $3, $4) RETURNING id", user_id, email, name, iso(now())))
    if row is None:
        keep = int(by_mail)
        await db.execute("UPDATE customers SET external_user_id = $1 WHERE id = $2",
                         user_id, keep)
    else:
        keep = int(row)
        if by_mail is not None and by_mail != keep:
            keep = await merge(db, keep, int(by_mail))
    # the customer's row lock: verifications of one identity take turns from here
    await db.execute("UPDATE customers SET email = $1, name = COALESCE($2, name) WHERE id = $3",
                     email, name, keep)
    return keep


async def merge(db: Connection, one: int, other: int) -> int:
    """Merge two records of one customer into the older; returns the survivor's id."""
    keep, gone = min(one, other), max(one, other)
    user_ids = await db.fetch("SELECT external_user_id FROM customers WHERE id IN ($1, $2) "
                              "AND external_user_id IS NOT NULL ORDER BY id", keep, gone)
    for table in OWNED:
        await db.execute(f"UPDATE {table} SET customer_id = $1 WHERE customer_id = $2",
                         keep, gone)
    await db.execute("UPDATE customers SET merged_into = $1, external_user_id = NULL "
                     "WHERE id = $2", keep, gone)
    if user_ids:
        await db.execute("UPDATE customers SET external_user_id = $1 WHERE id = $2",
                         user_ids[0][0], keep)
    await audit(db, None, "customer.merged", keep, {"merged": gone})
    return keep


async def canonical(db: Connection, customer_id: int) -> int | None:
    """Follow merges to the record that stands; None if there is no such customer."""
    seen = set()
    while customer_id not in seen:
        seen.add(customer_id)
        row = await db.fetchrow("SELECT merged_into FROM customers WHERE id = $1", customer_id)
        if row is None:
            return None
        if row["merged_into"] is None:
            return customer_id
        customer_id = int(row["merged_into"])
    return None


async def view(db: Connection, customer_id: int) -> dict[str, Any] | None:
    """Everything about the customer (the record that stands after merges), or None."""
    found = await canonical(db, customer_id)
    return await views.customer(db, found) if found is not None else None


async def save_order(db: Connection, fields: dict[str, Any]) -> OrderChange:
    """`upsert_order`, with the order as it looks now."""
    order_id, change = await upsert_order(db, fields)
    return OrderChange(change, await views.order(db, order_id))


async def upsert_order(db: Connection, fields: dict[str, Any]) -> tuple[int, Change]:
    """Insert or update by `external_id`; returns the order id and created/updated/unchanged.
    (Two inserts of one new order at once: the second fails on the unique external_id, and
    runs again as an update.)"""
    row = await db.fetchrow("SELECT * FROM orders WHERE external_id = $1 FOR UPDATE",
                            fields["external_id"])
    stamp = iso(now())
    fields = orders.with_kept_fields(fields, row, stamp)
    customer_id = await by_email(db, fields["email"], fields.get("name"))
    values = [fields[c] for c in orders.COLUMNS]
    if row is None:
        placeholders = ", ".join(f"${n}" for n in range(2, len(orders.COLUMNS) + 4))
        created = await db.fetchval(
            f"INSERT INTO orders (customer_id, {', '.join(orders.COLUMNS)}, created_at, "
            f"updated_at) VALUES ($1, {placeholders}) RETURNING id",
            customer_id, *values, stamp, stamp)
        return int(created), "created"
    if [row[c] for c in orders.COLUMNS] == values:
        return int(row["id"]), "unchanged"
    if orders.same_buyer(row["email"], fields["email"]):
        customer_id = row["customer_id"]
    ledger.check_order_update(Money(row["amount_cents"], row["currency"]),
                              Money(fields["amount_cents"], fields["currency"]),
                              *await views.order_refunds(db, row["id"]),
                              new_buyer=await canonical(db, customer_id) != await canonical(
                                  db, row["customer_id"]))
    assignments = ", ".join(f"{c} = ${n}" for n, c in enumerate(orders.COLUMNS, start=2))
    await db.execute(f"UPDATE orders SET customer_id = $1, {assignments}, "
                     f"updated_at = ${len(orders.COLUMNS) + 2} "
                     f"WHERE id = ${len(orders.COLUMNS) + 3}",
                     customer_id, *values, stamp, row["id"])
    return int(row["id"]), "updated"


async def audit(db: Connection, agent_id: int | None, action: str, customer_id: int | None,
                detail: dict[str, Any]) -> None:
    await db.execute("INSERT INTO audit_log (at, agent_id, action, customer_id, detail) "
                     "VALUES ($1, $2, $3, $4, $5)", iso(now()), agent_id, action, customer_id,
                     orjson.dumps(detail).decode())


# --- signed order webhooks: none applied twice, and none after a newer one for its order ---
async def apply_order(db: Connection, fields: dict[str, Any], timestamp: int, signature: str,
                      now: float) -> OrderChange | None:
    """The webhook's order saved, or None (nothing changed) for a replay or an older one."""
    if not await accept(db, fields["external_id"], timestamp, signature, now):
        return None
    saved = await save_order(db, fields)
    await db.execute("UPDATE orders SET webhook_timestamp = $1 WHERE id = $2",
                     timestamp, saved.order["id"])
    return saved


async def refund_elsewhere(db: Connection, shop_ref: str, refund_id: str,
                           cents: int) -> OrderChange | None:
    """A refund the shop's platform reports for its order `shop_ref` (None: no such order)."""
    row = await db.fetchrow("SELECT * FROM orders WHERE shop_ref = $1 FOR UPDATE", shop_ref)
    return await save_order(db, orders.refund_elsewhere(row, refund_id, cents)) if row else None


async def accept(db: Connection, external_id: str, timestamp: int, signature: str,
                 now: float) -> bool:
    """Record a webhook about to be applied, if it applies (its order's row locked, so
    webhooks of one order take turns; one signature twice at once: the second fails on the
    receipt's key, and runs again as a replay)."""
    await db.execute("DELETE FROM webhook_receipts WHERE timestamp < $1::double precision",
                     now - TOLERANCE_SECONDS)
    replayed = await db.fetchval("SELECT 1 FROM webhook_receipts WHERE signature = $1",
                                 signature) is not None
    last = await db.fetchrow("SELECT webhook_timestamp FROM orders WHERE external_id = $1 "
                             "FOR UPDATE", external_id)
    if not webhook.applies(replayed, last[0] if last is not None else None, timestamp):
        return False
    await db.execute("INSERT INTO webhook_receipts (signature, timestamp) VALUES ($1, $2)",
                     signature, timestamp)
    return True


class CustomerMethods(Runs):
    async def upsert_order(self, fields: dict[str, Any]) -> OrderChange:
        return await self.transaction(lambda db: save_order(db, fields))

    async def webhook_order(self, fields: dict[str, Any], timestamp: int,
                            signature: str) -> OrderChange | None:
        at = now()
        return await self.transaction(
            lambda db: apply_order(db, fields, timestamp, signature, at))

    async def refund_elsewhere(self, shop_ref: str, refund_id: str,
                               cents: int) -> OrderChange | None:
        return await self.transaction(
            lambda db: refund_elsewhere(db, shop_ref, refund_id, cents))

    async def customer(self, customer_id: int) -> dict[str, Any] | None:
        return await self.read(lambda db: view(db, customer_id))

    async def customers_by_email(self, email: str) -> list[dict[str, Any]]:
        return await self.read(lambda db: views.customers_by_email(db, email))
