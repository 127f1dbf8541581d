"""Idempotency keys: the same key with the same body replays the first answer, posting nothing.

The key's record is written in the same transaction as the action it guards, so a retry
after a crash either finds both or neither.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import orjson

from chatserver.domain.clock import iso, now
from chatserver.domain.ledger import LedgerError
from chatserver.store.money import Outcome


def once(db: sqlite3.Connection, scope: str, path: str, key: str, body_hash: str,
         run: Callable[[sqlite3.Connection], Outcome]) -> Outcome:
    """`run` the first time this (scope, path, key) is seen; replay its answer after that."""
    row = db.execute("SELECT body_hash, status, response FROM idempotency WHERE scope = ? AND "
                     "path = ? AND key = ?", (scope, path, key)).fetchone()
    if row is not None:
        if row["body_hash"] != body_hash:
            raise LedgerError(422, "idempotency_mismatch", "this Idempotency-Key was used "
                              "with another request body")
        return Outcome(row["status"], orjson.loads(row["response"]))
    outcome = run(db)
    db.execute("INSERT INTO idempotency (scope, path, key, body_hash, status, response, "
               "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
               (scope, path, key, body_hash, outcome.status, orjson.dumps(outcome.body).decode(),
                iso(now())))
    return outcome
