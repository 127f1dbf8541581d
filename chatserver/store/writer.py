"""Group commit: one writer thread runs queued write operations in batches, one commit each.

Every operation is a plain function over a `sqlite3.Connection`. A batch first runs them
all in one transaction; if one fails, the batch runs again with a savepoint around each, so
that operation alone is undone (it is rare, and savepoints cost as much as a quarter of a
message's write). `before_commit` runs last in each transaction (the search index is brought
up to date there). When the batch's COMMIT has returned (fsync'd, with synchronous=FULL),
each operation's `on_commit` runs in submit order (this is where events are published, so
they leave in commit order) and its caller resumes. A whole batch costs one thread hop and
one fsync however many messages it holds.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

Operation = Callable[[sqlite3.Connection], Any]
OnCommit = Callable[[T], None] | None


@dataclass
class _Pending:
    run: Operation
    on_commit: Callable[[Any], None] | None
    future: asyncio.Future[Any]
    result: Any = None
    error: BaseException | None = field(default=None)


class Writer:
    def __init__(self, db: sqlite3.Connection, max_batch: int = 1000,
                 before_commit: Operation | None = None) -> None:
        self._db = db
        self._before_commit = before_commit
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chatserver-writer")
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.batches = 0  # how many commits carried the writes (checkpointer, benchmark)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="writer")

    def submit(self, run: Callable[[sqlite3.Connection], T],
               on_commit: Callable[[T], None] | None = None) -> asyncio.Future[T]:
        """Run `run` in the next batch; the future has its result once the batch is committed.
        (A plain function, not a coroutine: a message waiting for its commit holds one
        future, not a chain of suspended coroutines for the garbage collector to walk.)"""
        if self._task is None or self._task.done() or self._closing:
            raise RuntimeError("the writer is not running")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(run, on_commit, future))
        self._wakeup.set()
        return future

    async def close(self) -> None:
        """Finish what was submitted (answering every caller), then stop."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        await asyncio.to_thread(self._thread.shutdown)
        self._db.close()

    async def _loop(self) -> None:
        while not (self._closing and not self._pending):
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                await self._flush()

    async def _flush(self) -> None:
        batch = self._pending[: self._max_batch]
        del self._pending[: self._max_batch]
        loop = asyncio.get_running_loop()
        try:
            await asyncio.shield(loop.run_in_executor(self._thread, self._run_batch, batch))
        except Exception as error:  # the commit itself failed: nothing of the batch stands
            for op in batch:
                op.error = op.error or error
        self.batches += 1
        for op in batch:
            if op.error is None and op.on_commit is not None:
                try:  # even when the caller has gone: what is committed is announced
                    op.on_commit(op.result)
                except Exception:
                    log.exception("announcing a committed write failed")
            if op.future.done():
                continue
            if op.error is not None:
                op.future.set_exception(op.error)
            else:
                op.future.set_result(op.result)

    def _run_batch(self, batch: list[_Pending]) -> None:
        if not self._transaction(batch, isolated=False):
            self._transaction(batch, isolated=True)

    def _transaction(self, batch: list[_Pending], isolated: bool) -> bool:
        """Run and commit the batch; False (nothing kept) when an operation failed and the
        batch was not `isolated`."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for op in batch:
                op.error = None
                if not isolated:
                    op.result = op.run(db)
                    continue
                db.execute("SAVEPOINT op")
                try:
                    op.result = op.run(db)
                    db.execute("RELEASE op")
                except Exception as error:
                    db.execute("ROLLBACK TO op")
                    db.execute("RELEASE op")
                    op.error = error
            if self._before_commit is not None:
                self._before_commit(db)
            db.execute("COMMIT")
        except BaseException as error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isolated or not isinstance(error, Exception):
                raise
            return False
        return True
