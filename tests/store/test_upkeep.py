"""Upkeep keeps the WAL from growing under a steady stream of commits, and closes cleanly."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from chatserver.store.sqlite import connection as sqlite_connection
from chatserver.store.sqlite.connection import connect
from chatserver.store.sqlite.migrations import migrate
from chatserver.store.sqlite.unavailable import for_caller
from chatserver.store.sqlite.upkeep import Upkeep
from chatserver.store.sqlite.writer import Writer


@asynccontextmanager
async def writer_with_upkeep(path: str, patience: float = 0.1,
                             ) -> AsyncIterator[tuple[Writer, Upkeep]]:
    """A writer and its upkeep wired as the store runs them, upkeep every 50 ms."""
    db = connect(path, "FULL")
    migrate(db)
    db.execute("PRAGMA wal_autocheckpoint = 0")
    writer = Writer(db, for_caller=for_caller)  # errors reach callers as the store's
    writer.start()
    upkeep = Upkeep(connect(path, "FULL"), writer, every=0.05, patience=patience)
    upkeep.start()
    try:
        yield writer, upkeep
    finally:
        await upkeep.close()  # a second close is harmless
        await writer.close()


def stored(path: str, sql: str) -> tuple[object, ...] | None:
    check = sqlite3.connect(path)
    try:
        row: tuple[object, ...] | None = check.execute(sql).fetchone()
        return row
    finally:
        check.close()


async def test_the_wal_starts_over_while_commits_keep_coming(tmp_path: Path) -> None:
    path = str(tmp_path / "chat.db")
    commits, started = 0, time.monotonic()
    async with writer_with_upkeep(path) as (writer, _):
        while time.monotonic() - started < 1.5:  # one commit after another, no pause
            await writer.submit(lambda db: db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('k', randomblob(3000))"))
            commits += 1
        wal_size = Path(path + "-wal").stat().st_size
    # each commit appends two 4 KiB pages or more: a WAL never started over holds them all
    assert commits > 200
    assert wal_size < commits * 4096
    # and nothing was lost on the way
    assert stored(path, "SELECT length(value) FROM meta WHERE key = 'k'") == (3000,)


async def test_closing_waits_for_a_checkpoint_under_way(tmp_path: Path) -> None:
    # A reader on an old snapshot holds the RESTART checkpoint in its busy wait (for 10 s
    # here); closing meanwhile must wait for it, not close the connection under it (that
    # crashed the whole process).
    path = str(tmp_path / "chat.db")
    async with writer_with_upkeep(path, patience=10) as (writer, upkeep):
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM meta").fetchone()
        await writer.submit(lambda db: db.execute(
            "INSERT INTO meta (key, value) VALUES ('k', 'kept')"))
        await asyncio.sleep(0.5)  # the checkpoint has begun and waits for the reader
        closing = asyncio.create_task(upkeep.close())
        await asyncio.sleep(0.2)
        assert not closing.done()
        reader.execute("COMMIT")
        await asyncio.wait_for(closing, 5)
        reader.close()
    assert stored(path, "SELECT value FROM meta WHERE key = 'k'") == ("kept",)


def a_message(db: sqlite3.Connection) -> None:
    db.execute("INSERT OR IGNORE INTO visitors (id, created_at) VALUES ('v', '2026-01-01')")
    db.execute("INSERT OR IGNORE INTO conversations (id, visitor_id, status, created_at, "
               "waiting_since) VALUES (1, 'v', 'queued', '2026-01-01', '2026-01-01')")
    db.execute("INSERT INTO messages (conversation_id, seq, author_role, author_name, text, "
               "created_at) VALUES (1, (SELECT COUNT(*) + 1 FROM messages), 'visitor', 'V', "
               "'parcel', '2026-01-01')")


async def until(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.01)


async def test_upkeep_carries_on_after_another_process_held_the_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A round of upkeep refused as busy (the writer hands it a StorageError) once ended the
    # upkeep for good: no more indexing or checkpoints, and closing the store failed.
    monkeypatch.setattr(sqlite_connection, "BUSY_TIMEOUT_MS", 100)
    path = str(tmp_path / "chat.db")
    async with writer_with_upkeep(path) as (writer, _):
        await writer.submit(a_message)
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        seen = writer.batches
        await until(lambda: writer.batches > seen)  # upkeep's indexing, refused as busy
        lock.execute("ROLLBACK")
        lock.close()
        await writer.submit(a_message)
        await until(lambda: stored(path, "SELECT upto FROM search_indexed") == (2,))
    assert stored(path, "SELECT COUNT(*) FROM messages_search WHERE messages_search "
                  "MATCH 'parcel'") == (2,)
