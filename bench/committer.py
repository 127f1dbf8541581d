"""The durable floor's group commit: one thread commits every message before it is relayed.

What any server keeping the contract pays at least for "an `ack` only after the commit":
each message is inserted into a plain table of a SQLite database in WAL mode with
`synchronous=FULL`, by one thread that commits, in one transaction, whatever arrived while
its previous commit ran. The table has the two keys the contract needs (a message's place in
its conversation, and the visitor's `client_id` for dedupe), with the server's column names,
so the benchmark checks the durable floor's acknowledged messages as it checks the server's.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading

Row = tuple[int, int, str, str, str, str]  # conversation, seq, sender key, client id, text, at

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    conversation_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    sender_key TEXT NOT NULL,
    client_id TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (sender_key, client_id)
)
"""
INSERT = "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)"
_STOP = None


class Committer:
    """`await committer.commit(row)` returns once the row is durably committed."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(SCHEMA)
        self.batches = 0  # commits so far, for the benchmark's messages per commit
        self._loop = asyncio.get_running_loop()
        self._queue: queue.SimpleQueue[tuple[Row, asyncio.Future[None]] | None] = (
            queue.SimpleQueue())
        self._thread = threading.Thread(target=self._run, name="committer", daemon=True)
        self._thread.start()

    def commit(self, row: Row) -> asyncio.Future[None]:
        done = self._loop.create_future()
        self._queue.put((row, done))
        return done

    def counters(self) -> dict[str, int]:
        return {"batches": self.batches}

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()
        self.db.close()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = []
            item = self._queue.get()  # wait for the first, then take whatever else is there
            while item is not _STOP:
                batch.append(item)
                if self._queue.empty():
                    break
                item = self._queue.get()
            stopping = item is _STOP
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[tuple[Row, asyncio.Future[None]]]) -> None:
        error: Exception | None = None
        try:
            self.db.execute("BEGIN")
            self.db.executemany(INSERT, [row for row, _ in batch])
            self.db.execute("COMMIT")  # returns after its fsync (synchronous=FULL)
        except sqlite3.Error as failed:  # the whole batch fails: the benchmark sends no
            error = failed                # duplicates, so this is a broken disk or file
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
        self.batches += 1
        self._loop.call_soon_threadsafe(_settle, [done for _, done in batch], error)


def _settle(waiting: list[asyncio.Future[None]], error: Exception | None) -> None:
    for done in waiting:
        if done.done():  # its socket went away meanwhile
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
