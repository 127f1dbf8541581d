"""Signed order webhooks applied: none twice, and none after a newer one for its order.
Plain functions over a `sqlite3.Connection` (writer thread)."""

from __future__ import annotations

import sqlite3
from typing import Any

from chatserver.domain import webhook
from chatserver.domain.webhook import TOLERANCE_SECONDS
from chatserver.store import customers
from chatserver.store.commerce_types import OrderChange


def apply_order(db: sqlite3.Connection, fields: dict[str, Any], timestamp: int, signature: str,
                now: float) -> OrderChange | None:
    """The webhook's order saved, or None (nothing changed) for a replay or an older one."""
    if not accept(db, fields["external_id"], timestamp, signature, now):
        return None
    saved = customers.save_order(db, fields)
    db.execute("UPDATE orders SET webhook_timestamp = ? WHERE id = ?",
               (timestamp, saved.order["id"]))
    return saved


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
