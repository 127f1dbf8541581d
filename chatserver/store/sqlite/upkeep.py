"""Work kept off the commit path, done once a second while there are new commits.

- The search index: a row-by-row trigger, or indexing in every commit, cost as much as the
  rest of a message's write; indexing a second's messages at once costs a tenth of that.
  A search brings the index up to date itself first, so it never misses a message.
- WAL checkpoints: SQLite's automatic one runs inside the COMMIT that crosses its
  threshold, so that batch's callers waited for the copy into the database file and its
  fsync (up to 130 ms under load). The writer's connection has it turned off. Here, on a
  connection of its own, a PASSIVE checkpoint copies the bulk beside the writer; it can
  never finish while commits keep coming, though, and a WAL that is never started over
  grows without end (300 MB in a minute of load), making every page lookup slower. So a
  RESTART checkpoint follows, with the writer held off for the few frames added meanwhile,
  and the next commit writes the WAL from its start again.
- After an erase (privacy.py), a TRUNCATE checkpoint instead: the WAL's frames would keep old
  copies of the pages an erase overwrote, and RESTART reuses the file without clearing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from chatserver.store.base import StorageError
from chatserver.store.sqlite.inbox import index_new_messages
from chatserver.store.sqlite.writer import Writer

log = logging.getLogger(__name__)


class Upkeep:
    def __init__(self, checkpoints: sqlite3.Connection, writer: Writer,
                 every: float = 1.0, patience: float = 0.1) -> None:
        """`patience`: how long the RESTART waits for readers (and other processes' writes)
        while every write waits for it; past it, the round ends as a PASSIVE one."""
        self._checkpoints = checkpoints
        checkpoints.execute(f"PRAGMA busy_timeout = {int(patience * 1000)}")
        self._writer = writer
        self._every = every
        self._task: asyncio.Task[None] | None = None
        # Its own thread, so that closing can wait for a checkpoint already under way:
        # cancelling the task does not stop the thread, and closing the connection under a
        # running checkpoint crashes the process.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upkeep")
        self._wipe = False  # an erase's WAL is still to be cut to nothing

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="upkeep")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self._thread.shutdown)
        self._checkpoints.close()

    async def _loop(self) -> None:
        seen = self._writer.batches
        while True:
            await asyncio.sleep(self._every)
            if self._writer.batches == seen:
                continue
            try:
                await self._writer.submit(index_new_messages)
                seen = self._writer.batches
                await self._checkpoint("PASSIVE")
                async with self._writer.held_off():
                    await self._reset_log()
            # storage busy or full (as the writer tells it: StorageError), or a checkpoint's
            # own error: the next round tries again; nothing is lost
            except (StorageError, sqlite3.Error, RuntimeError):
                log.exception("store upkeep failed")

    async def wipe_log(self) -> None:
        """After an erase: every frame copied into the database file (where secure_delete
        zeroed what was overwritten) and the WAL cut to nothing. Readers too busy to let it:
        the next rounds try again."""
        self._wipe = True
        async with self._writer.held_off():
            await self._reset_log()

    async def _reset_log(self) -> None:
        finished = await self._checkpoint("TRUNCATE" if self._wipe else "RESTART")
        self._wipe = self._wipe and not finished

    async def _checkpoint(self, mode: str) -> bool:
        """Whether it finished (no reader or writer kept it from the WAL's end)."""
        return await asyncio.get_running_loop().run_in_executor(self._thread,
                                                                self._run_checkpoint, mode)

    def _run_checkpoint(self, mode: str) -> bool:
        # Returns plain data: a cursor handed to the loop is finalized there, and that waits
        # for this connection's lock, which the next checkpoint may hold for a while.
        busy = self._checkpoints.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()[0]
        return not busy
