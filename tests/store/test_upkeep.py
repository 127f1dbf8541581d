"""Upkeep keeps the WAL from growing under a steady stream of commits, and closes cleanly."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from chatserver.store.migrations import migrate
from chatserver.store.sqlite import _connect
from chatserver.store.upkeep import Upkeep
from chatserver.store.writer import Writer


async def test_the_wal_starts_over_while_commits_keep_coming(tmp_path: Path) -> None:
    path = str(tmp_path / "chat.db")
    db = _connect(path, "FULL")
    migrate(db)
    db.execute("PRAGMA wal_autocheckpoint = 0")  # as the store runs it
    writer = Writer(db)
    writer.start()
    upkeep = Upkeep(_connect(path, "FULL"), writer, every=0.1)
    upkeep.start()
    commits, started = 0, time.monotonic()
    try:
        while time.monotonic() - started < 1.5:  # one commit after another, no pause
            await writer.submit(lambda db: db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('k', randomblob(3000))"))
            commits += 1
        wal_size = Path(path + "-wal").stat().st_size
    finally:
        await upkeep.close()
        await writer.close()
    # each commit appends two 4 KiB pages or more: a WAL never started over holds them all
    assert commits > 200
    assert wal_size < commits * 4096
    check = sqlite3.connect(path)  # and nothing was lost on the way
    assert check.execute("SELECT length(value) FROM meta WHERE key = 'k'").fetchone() == (3000,)
    check.close()


async def test_closing_waits_for_a_checkpoint_under_way(tmp_path: Path) -> None:
    # A reader on an old snapshot holds the RESTART checkpoint in its busy wait; closing the
    # store meanwhile must wait for it, not close the connection under it (that crashed
    # the whole process).
    path = str(tmp_path / "chat.db")
    db = _connect(path, "FULL")
    migrate(db)
    writer = Writer(db)
    writer.start()
    upkeep = Upkeep(_connect(path, "FULL"), writer, every=0.05)
    upkeep.start()
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
    await writer.close()
    reader.close()
    check = sqlite3.connect(path)
    assert check.execute("SELECT value FROM meta WHERE key = 'k'").fetchone() == ("kept",)
    check.close()
