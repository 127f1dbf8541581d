"""Signed order webhooks applied: none twice, and none after a newer one for its order.
Plain functions over a `sqlite3.Connection` (writer thread)."""

from __future__ import annotations

import sqlite3

from chatserver.domain.webhook import TOLERANCE_SECONDS


def accept(db: sqlite3.Connection, external_id: str, timestamp: int, signature: str,
           now: float) -> bool:
    """Record a webhook about to be applied; False (apply nothing) for an exact replay or a
    webhook older than the last one applied to that order. Receipts are kept only while a
    replay of them could still pass the five-minute window."""
    db.execute("DELETE FROM webhook_receipts WHERE timestamp < ?", (now - TOLERANCE_SECONDS,))
    if db.execute("SELECT 1 FROM webhook_receipts WHERE signature = ?",
                  (signature,)).fetchone() is not None:
        return False
    last = db.execute("SELECT webhook_timestamp FROM orders WHERE external_id = ?",
                      (external_id,)).fetchone()
    if last is not None and last[0] is not None and timestamp < last[0]:
        return False
    db.execute("INSERT INTO webhook_receipts (signature, timestamp) VALUES (?, ?)",
               (signature, timestamp))
    return True


def applied(db: sqlite3.Connection, order_id: int, timestamp: int) -> None:
    db.execute("UPDATE orders SET webhook_timestamp = ? WHERE id = ?", (timestamp, order_id))
