"""Upkeep keeps the WAL from growing under a steady stream of commits, and closes cleanly."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from chatserver.store.migrations import migrate
from chatserver.store.sqlite import _connect
from chatserver.store.upkeep import Upkeep
from chatserver.store.writer import Writer


@asynccontextmanager
async def writer_with_upkeep(path: str, patience: float = 0.1,
                             ) -> AsyncIterator[tuple[Writer, Upkeep]]:
    """A writer and its upkeep wired as the store runs them, upkeep every 50 ms."""
    db = _connect(path, "FULL")
    migrate(db)
    db.execute("PRAGMA wal_autocheckpoint = 0")
    writer = Writer(db)
    writer.start()
    upkeep = Upkeep(_connect(path, "FULL"), writer, every=0.05, patience=patience)
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
