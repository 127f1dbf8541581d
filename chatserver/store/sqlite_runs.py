"""How the SQLite store runs the plain functions of its SQL modules: a write in the writer's
next group commit, a read on one consistent snapshot beside it. SqliteStore and its groups
of methods per concept (sqlite_console.py, sqlite_admin.py) are built on these two."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from chatserver.store.unavailable import for_caller
from chatserver.store.writer import OnCommit, Writer, release_statements

T = TypeVar("T")


class Runs:
    def __init__(self, writer: Writer, views: sqlite3.Connection) -> None:
        self._writer = writer
        self._views = views  # for `read`: plain functions over a connection, on their thread
        self._views_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="views")

    async def read(self, run: Callable[[sqlite3.Connection], T]) -> T:
        """Run `run` (plain SQL reads, like store/views.py) on one consistent snapshot,
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
