"""The SQLite store's connections, and how its methods run the plain functions of each
concept's module: a write in the writer's next group commit, a read on one consistent
snapshot beside it, a single query on the async reader. SqliteStore (sqlite/__init__.py)
and its groups of methods per concept are built on these."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import aiosqlite

from chatserver.store.sqlite.unavailable import for_caller
from chatserver.store.sqlite.writer import Writer, release_statements
from chatserver.store.types import OnCommit

T = TypeVar("T")


def sqlite_path(url: str) -> str:
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a SQLite URL: {url!r} (expected sqlite:///PATH)")
    return url[len("sqlite:///"):]


BUSY_TIMEOUT_MS = 10_000  # a write waits this long for another process's lock


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    # secure_delete: what an erase removes is overwritten, not left in free pages
    for pragma in ("journal_mode = WAL", f"synchronous = {synchronous}", "foreign_keys = ON",
                   f"busy_timeout = {BUSY_TIMEOUT_MS}", "secure_delete = ON"):
        db.execute("PRAGMA " + pragma)
    return db


async def connect_reader(path: str) -> aiosqlite.Connection:
    reader = await aiosqlite.connect(path, isolation_level=None)
    reader.row_factory = sqlite3.Row
    await reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return reader


class Runs:
    def __init__(self, writer: Writer, reader: aiosqlite.Connection,
                 views: sqlite3.Connection) -> None:
        self._writer = writer
        self._reader = reader
        self._views = views  # for `read`: plain functions over a connection, on their thread
        self._views_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="views")

    async def read(self, run: Callable[[sqlite3.Connection], T]) -> T:
        """Run `run` (plain SQL reads, like views.py) on one consistent snapshot,
        without holding up the writer."""
        def snapshot() -> T:
            self._views.execute("BEGIN")
            try:
                return run(self._views)
            except Exception as error:
                release_statements(error)
                if isinstance(error, sqlite3.Error):
                    raise for_caller(error) from error
                raise
            finally:
                self._views.execute("COMMIT")
        return await asyncio.get_running_loop().run_in_executor(self._views_thread, snapshot)

    async def transaction(self, run: Callable[[sqlite3.Connection], T],
                          on_commit: OnCommit[T] = None) -> T:
        return await self._writer.submit(run, on_commit)

    async def _close_views(self) -> None:
        await asyncio.to_thread(self._views_thread.shutdown)
        self._views.close()

    @property
    def writer(self) -> Writer:
        return self._writer

    async def _one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        """The row a query names (by a unique key, or LIMIT 1), if any."""
        found = await self._all(sql, args)
        return found[0] if found else None

    async def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        # One trip to the reader's thread, not three (execute, fetch, close the cursor):
        # each wakes the thread and then the loop.
        try:
            return list(await self._reader.execute_fetchall(sql, args))
        except sqlite3.Error as error:
            raise for_caller(error) from error
