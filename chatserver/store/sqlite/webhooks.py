"""SqliteStore's outgoing webhooks: the endpoints and the outbox of their deliveries (which
the triggers of its migration fill, in the transaction of each change). The writer is the
only one to write, so a claim made there is exclusive; its lease outlives a dead process.

The messages' trigger exists only while some endpoint wants `message.created`: a trigger
costs an insert about 4 us even when it writes nothing, and a message's post is the chat's
hot path. Adding or deleting an endpoint makes or drops it, in the same transaction."""

from __future__ import annotations

import sqlite3
from functools import partial
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
from chatserver.store.sqlite import rows, views
from chatserver.store.sqlite.connection import Runs

DUE = "status = 'pending' AND next_at <= ? AND leased_until <= ?"
MESSAGE_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS webhook_message_created AFTER INSERT ON messages "
    "WHEN NEW.seq IS NOT NULL BEGIN "
    "INSERT INTO webhook_deliveries (endpoint_id, type, subject, created_at) "
    "SELECT id, 'message.created', NEW.id, NEW.created_at FROM webhook_endpoints "
    "WHERE instr(events, ' message.created '); END")


def fit_message_trigger(db: sqlite3.Connection) -> None:
    wanted = db.execute("SELECT 1 FROM webhook_endpoints "
                        "WHERE instr(events, ' message.created ') LIMIT 1").fetchone()
    db.execute(MESSAGE_TRIGGER if wanted else "DROP TRIGGER IF EXISTS webhook_message_created")


def add_endpoint(db: sqlite3.Connection, url: str, events: tuple[str, ...],
                 secret: str) -> NewWebhookEndpoint:
    row = db.execute("INSERT INTO webhook_endpoints (url, events, secret, created_at) "
                     "VALUES (?, ?, ?, ?) RETURNING *",
                     (url, events_column(events), secret, iso(store_clock.now()))).fetchone()
    fit_message_trigger(db)
    return records.new_webhook_endpoint(row)


def endpoints(db: sqlite3.Connection, recent: int) -> list[WebhookEndpoint]:
    return [records.webhook_endpoint(row, [records.webhook_delivery(d) for d in db.execute(
        "SELECT * FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?",
        (row["id"], recent))])
        for row in db.execute("SELECT * FROM webhook_endpoints ORDER BY id").fetchall()]


def delete_endpoint(db: sqlite3.Connection, endpoint_id: int) -> None:
    if not db.execute("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,)).rowcount:
        raise Refused(404, "not_found", "no such webhook endpoint")
    fit_message_trigger(db)


def resend(db: sqlite3.Connection, delivery_id: int) -> WebhookDelivery:
    row = db.execute("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, "
                     "next_at = 0, leased_until = 0 WHERE id = ? RETURNING *",
                     (delivery_id,)).fetchone()
    if row is None:
        raise Refused(404, "not_found", "no such webhook delivery")
    return records.webhook_delivery(row)


def claim(db: sqlite3.Connection, now: float, lease: float,
           limit: int) -> list[ClaimedDelivery]:
    ids = [row[0] for row in db.execute(
        f"UPDATE webhook_deliveries SET attempts = attempts + 1, leased_until = ? WHERE id IN "
        f"(SELECT id FROM webhook_deliveries WHERE {DUE} ORDER BY next_at, id LIMIT ?) "
        "RETURNING id", (now + lease, now, now, limit)).fetchall()]
    return [records.claimed_delivery(row) for row in db.execute(
        "SELECT d.*, e.url, e.secret FROM webhook_deliveries d JOIN webhook_endpoints e "
        f"ON e.id = d.endpoint_id WHERE d.id IN ({', '.join('?' * len(ids))}) ORDER BY d.id",
        ids)]


def finish(db: sqlite3.Connection, delivery_id: int, body: str, answer_status: int | None,
           answer_excerpt: str, delivered: bool, next_at: float | None) -> None:
    status = "delivered" if delivered else "pending" if next_at is not None else "failed"
    db.execute("UPDATE webhook_deliveries SET status = ?, body = ?, answer_status = ?, "
               "answer_excerpt = ?, tried_at = ?, next_at = ?, leased_until = 0 WHERE id = ?",
               (status, body, answer_status, answer_excerpt, iso(store_clock.now()),
                next_at or 0, delivery_id))


class WebhookMethods(Runs):
    async def add_webhook_endpoint(self, url: str, events: tuple[str, ...],
                                   secret: str) -> NewWebhookEndpoint:
        return await self.transaction(partial(add_endpoint, url=url, events=events,
                                              secret=secret))

    async def webhook_endpoints(self, recent: int) -> list[WebhookEndpoint]:
        return await self.read(partial(endpoints, recent=recent))

    async def delete_webhook_endpoint(self, endpoint_id: int) -> None:
        await self.transaction(partial(delete_endpoint, endpoint_id=endpoint_id))

    async def resend_delivery(self, delivery_id: int) -> WebhookDelivery:
        return await self.transaction(partial(resend, delivery_id=delivery_id))

    async def claim_deliveries(self, now: float, lease: float,
                               limit: int) -> list[ClaimedDelivery]:
        # a read first: most looks find nothing due, and a write would cost a commit
        if await self._one(f"SELECT 1 FROM webhook_deliveries WHERE {DUE} LIMIT 1",
                           (now, now)) is None:
            return []
        return await self.transaction(partial(claim, now=now, lease=lease, limit=limit))

    async def finish_delivery(self, delivery_id: int, body: str, answer_status: int | None,
                              answer_excerpt: str, delivered: bool,
                              next_at: float | None) -> None:
        await self.transaction(partial(
            finish, delivery_id=delivery_id, body=body, answer_status=answer_status,
            answer_excerpt=answer_excerpt, delivered=delivered, next_at=next_at))

    async def forget_deliveries(self, before: str) -> int:
        return int(await self.transaction(lambda db: db.execute(
            "DELETE FROM webhook_deliveries WHERE status != 'pending' AND created_at < ?",
            (before,)).rowcount))

    async def message(self, message_id: int) -> Message | None:
        row = await self._one(f"SELECT {rows.MESSAGE_COLUMNS} FROM messages WHERE id = ?",
                              (message_id,))
        return records.message(row) if row else None

    async def ledger_entry(self, entry_id: int) -> dict[str, Any] | None:
        def found(db: sqlite3.Connection) -> dict[str, Any] | None:
            exists = db.execute("SELECT 1 FROM ledger WHERE id = ?", (entry_id,)).fetchone()
            return views.entry(db, entry_id) if exists else None
        return await self.read(found)
