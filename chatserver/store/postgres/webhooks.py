"""PostgresStore's outgoing webhooks: the endpoints and the outbox of their deliveries (which
the triggers of its migration fill, in the transaction of each change). Every process sends:
a claim takes rows with FOR UPDATE SKIP LOCKED, so two never take the same one, and its
lease outlives a dead process.

The messages' trigger exists only while some endpoint wants `message.created`: even finding
no endpoint costs a message's post some 20 us of the database's time, and a message's post
is the chat's hot path. Adding or deleting an endpoint makes or drops it, in the same
transaction (which waits for the messages being written to commit)."""

from __future__ import annotations

from typing import Any

from chatserver.domain.clock import iso
from chatserver.domain.errors import Refused
from chatserver.domain.models import Message
from chatserver.domain.webhooks import events_column
from chatserver.store import clock as store_clock
from chatserver.store import records
from chatserver.store.base import (
    ClaimedDelivery,
    NewWebhookEndpoint,
    WebhookDelivery,
    WebhookEndpoint,
)
from chatserver.store.postgres import rows, views
from chatserver.store.postgres.connection import Connection, Runs

MESSAGE_TRIGGER = ("CREATE TRIGGER webhook_message_created AFTER INSERT ON messages "
                   "FOR EACH ROW WHEN (NEW.seq IS NOT NULL) EXECUTE FUNCTION webhook_message()")
CLAIM = (
    "WITH due AS (SELECT id FROM webhook_deliveries WHERE status = 'pending' "
    "AND next_at <= $1 AND leased_until <= $1 ORDER BY next_at, id LIMIT $3 "
    "FOR UPDATE SKIP LOCKED), "
    "claimed AS (UPDATE webhook_deliveries d SET attempts = attempts + 1, leased_until = $2 "
    "FROM due WHERE d.id = due.id RETURNING d.*) "
    "SELECT c.*, e.url, e.secret FROM claimed c JOIN webhook_endpoints e "
    "ON e.id = c.endpoint_id ORDER BY c.id")


async def fit_message_trigger(db: Connection) -> None:
    wanted = await db.fetchval("SELECT 1 FROM webhook_endpoints "
                               "WHERE position(' message.created ' IN events) > 0 LIMIT 1")
    await db.execute("DROP TRIGGER IF EXISTS webhook_message_created ON messages")
    if wanted:
        await db.execute(MESSAGE_TRIGGER)


async def add_endpoint(db: Connection, url: str, events: tuple[str, ...],
                       secret: str) -> NewWebhookEndpoint:
    row = await db.fetchrow("INSERT INTO webhook_endpoints (url, events, secret, created_at) "
                            "VALUES ($1, $2, $3, $4) RETURNING *",
                            url, events_column(events), secret, iso(store_clock.now()))
    await fit_message_trigger(db)
    return records.new_webhook_endpoint(row)


async def delete_endpoint(db: Connection, endpoint_id: int) -> None:
    if not rows.changed(await db.execute("DELETE FROM webhook_endpoints WHERE id = $1",
                                         endpoint_id)):
        raise Refused(404, "not_found", "no such webhook endpoint")
    await fit_message_trigger(db)


class WebhookMethods(Runs):
    async def add_webhook_endpoint(self, url: str, events: tuple[str, ...],
                                   secret: str) -> NewWebhookEndpoint:
        return await self.transaction(lambda db: add_endpoint(db, url, events, secret))

    async def webhook_endpoints(self, recent: int) -> list[WebhookEndpoint]:
        async def run(db: Connection) -> list[WebhookEndpoint]:
            return [records.webhook_endpoint(row, [
                records.webhook_delivery(d) for d in await db.fetch(
                    "SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 "
                    "ORDER BY id DESC LIMIT $2", row["id"], recent)])
                for row in await db.fetch("SELECT * FROM webhook_endpoints ORDER BY id")]
        return await self.read(run)

    async def delete_webhook_endpoint(self, endpoint_id: int) -> None:
        await self.transaction(lambda db: delete_endpoint(db, endpoint_id))

    async def resend_delivery(self, delivery_id: int) -> WebhookDelivery:
        row = await self._one("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, "
                              "next_at = 0, leased_until = 0 WHERE id = $1 RETURNING *",
                              delivery_id)
        if row is None:
            raise Refused(404, "not_found", "no such webhook delivery")
        return records.webhook_delivery(row)

    async def claim_deliveries(self, now: float, lease: float,
                               limit: int) -> list[ClaimedDelivery]:
        return [records.claimed_delivery(row)
                for row in await self._all(CLAIM, now, now + lease, limit)]

    async def finish_delivery(self, delivery_id: int, body: str, answer_status: int | None,
                              answer_excerpt: str, delivered: bool,
                              next_at: float | None) -> None:
        status = "delivered" if delivered else "pending" if next_at is not None else "failed"
        await self._run("UPDATE webhook_deliveries SET status = $1, body = $2, "
                        "answer_status = $3, answer_excerpt = $4, tried_at = $5, next_at = $6, "
                        "leased_until = 0 WHERE id = $7",
                        status, body, answer_status, answer_excerpt, iso(store_clock.now()),
                        next_at or 0.0, delivery_id)

    async def forget_deliveries(self, before: str) -> int:
        return rows.changed(await self._run(
            "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1",
            before))

    async def message(self, message_id: int) -> Message | None:
        row = await self._one(f"SELECT {rows.MESSAGE_COLUMNS} FROM messages WHERE id = $1",
                              message_id)
        return records.message(row) if row else None

    async def ledger_entry(self, entry_id: int) -> dict[str, Any] | None:
        async def run(db: Connection) -> dict[str, Any] | None:
            exists = await db.fetchval("SELECT 1 FROM ledger WHERE id = $1", entry_id)
            return await views.entry(db, entry_id) if exists else None
        return await self.read(run)
