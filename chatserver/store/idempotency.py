"""Idempotency keys: the same key with the same body replays the first answer, posting nothing.

The key's record is written in the same transaction as the action it guards, so a retry
after a crash either finds both or neither.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import orjson

from chatserver.domain.clock import iso, now
from chatserver.domain.idempotency import FirstAnswer, replay
from chatserver.store.commerce_types import IdempotencyKey, Outcome


def once(db: sqlite3.Connection, key: IdempotencyKey,
         run: Callable[[sqlite3.Connection], Outcome]) -> Outcome:
    """`run` the first time this key is seen where it was used; replay its answer after that."""
    row = db.execute("SELECT body_hash, status, response FROM idempotency WHERE scope = ? AND "
                     "path = ? AND key = ?", (key.scope, key.path, key.key)).fetchone()
    first = replay(FirstAnswer(row["body_hash"], row["status"], orjson.loads(row["response"]))
                   if row is not None else None, key.body_hash)
    if first is not None:
        return Outcome(first.status, first.body)
    outcome = run(db)
    db.execute("INSERT INTO idempotency (scope, path, key, body_hash, status, response, "
               "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
               (key.scope, key.path, key.key, key.body_hash, outcome.status,
                orjson.dumps(outcome.body).decode(), iso(now())))
    return outcome
