"""Group commit: write operations queue up and run in batches, one transaction and one
fsync each.

Every operation is a plain function over a `sqlite3.Connection`. A batch first runs them
all in one transaction; if one fails, the batch runs again with a savepoint around each, so
that operation alone is undone (it is rare, and savepoints cost as much as a quarter of a
message's write). The statements run on the event loop's thread: each takes microseconds,
and on a thread of their own they cost more than that in handing the GIL back and forth
with a busy loop (a third fewer messages per second with four in flight per visitor). The
COMMIT, which waits for the fsync, runs on the writer thread, and so does a BEGIN that must
wait for another process's write lock: the loop never waits for the disk. When the COMMIT
has returned (fsync'd, with synchronous=FULL), each operation's `on_commit` runs in submit
order (this is where events are published, so they leave in commit order) and its caller
resumes.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

Operation = Callable[[sqlite3.Connection], Any]


def release_statements(error: BaseException) -> None:
    """Drop the locals of the frames a failed operation left in `error` (which its caller
    keeps): a statement read half way through, alive in them, holds its connection's
    snapshot past the COMMIT, and once another process has written, that connection can
    never begin a write again (nor a read see anything newer)."""
    traceback.clear_frames(error.__traceback__)


@dataclass
class _Pending:
    run: Operation
    on_commit: Callable[[Any], None] | None
    future: asyncio.Future[Any]
    result: Any = None
    error: BaseException | None = field(default=None)


def _as_it_is(error: BaseException) -> BaseException:
    return error


class Writer:
    def __init__(self, db: sqlite3.Connection, max_batch: int = 1000,
                 for_caller: Callable[[BaseException], BaseException] = _as_it_is) -> None:
        """`for_caller`: what a caller receives for an operation's error (the store hands
        out backend-neutral errors)."""
        self._db = db
        self._for_caller = for_caller
        # BEGIN on the loop must not wait: a lock held elsewhere sends it to the thread
        self._busy_timeout = db.execute("PRAGMA busy_timeout").fetchone()[0]
        db.execute("PRAGMA busy_timeout = 0")
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._thread = _Thread("chatserver-writer")
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._turn = asyncio.Lock()  # a batch's, or whoever holds the writes off
        self.batches = 0  # how many commits carried the writes (for upkeep, the benchmark)

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

    @asynccontextmanager
    async def held_off(self) -> AsyncIterator[None]:
        """No batch starts while inside (writes submitted meanwhile go in the next one).
        For work that needs the write lock from another connection: the writer takes the
        lock again as soon as it has let it go, so a busy handler polling for it would wait
        for as long as the commits keep coming."""
        async with self._turn:
            yield

    @asynccontextmanager
    async def own_transaction(self) -> AsyncIterator[sqlite3.Connection]:
        """A transaction of the caller's own on the writer's connection, between batches:
        reads, decisions and writes that must stand or fall together (a routing change).
        Committed (fsync'd) when the block ends, rolled back when it raises."""
        async with self._turn:
            loop = asyncio.get_running_loop()
            await self._begin(loop)
            try:
                yield self._db
            except BaseException as error:
                release_statements(error)
                _roll_back(self._db)
                raise
            await asyncio.shield(self._thread.result(loop, self._commit))

    async def close(self) -> None:
        """Finish what was submitted (answering every caller), then stop."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        await asyncio.to_thread(self._thread.stop)
        self._db.close()

    async def _loop(self) -> None:
        while not (self._closing and not self._pending):
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                async with self._turn:
                    await self._flush()

    async def _flush(self) -> None:
        batch = self._pending[: self._max_batch]
        del self._pending[: self._max_batch]
        loop = asyncio.get_running_loop()
        try:
            await self._begin(loop)
            if not self._run(batch, isolated=False):
                await self._begin(loop)
                self._run(batch, isolated=True)
        except Exception as error:  # nothing of the batch stands
            self._settle(batch, error)
            return
        settled = loop.create_future()
        self._thread.run(partial(self._commit_then_settle, loop, batch, settled))
        await settled

    def _commit_then_settle(self, loop: asyncio.AbstractEventLoop, batch: list[_Pending],
                            settled: asyncio.Future[None]) -> None:
        """On the writer thread: COMMIT, then have the loop settle the batch. The loop runs
        `_settle` itself as soon as it wakes (not a task resuming a turn later), so the
        news and the callers' answers leave one turn of the loop sooner."""
        error: Exception | None = None
        try:
            self._commit()
        except Exception as failed:  # the commit itself failed: nothing of the batch stands
            error = failed
        loop.call_soon_threadsafe(self._settle, batch, error, settled)

    def _settle(self, batch: list[_Pending], error: Exception | None,
                settled: asyncio.Future[None] | None = None) -> None:
        """Announce what was committed, in submit order, and answer every caller. (Even when
        the writer was cancelled meanwhile: what is committed is announced.)"""
        self.batches += 1
        for op in batch:
            op.error = op.error or error
            if op.error is None and op.on_commit is not None:
                try:  # even when the caller has gone
                    op.on_commit(op.result)
                except Exception:
                    log.exception("announcing a committed write failed")
            if op.future.done():
                continue
            if op.error is not None:
                op.future.set_exception(self._for_caller(op.error))
            else:
                op.future.set_result(op.result)
        if settled is not None and not settled.done():
            settled.set_result(None)

    async def _begin(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # locked by another process: wait off the loop
            await asyncio.shield(self._thread.result(loop, self._begin_waiting))

    def _begin_waiting(self) -> None:
        self._db.execute(f"PRAGMA busy_timeout = {self._busy_timeout}")
        try:
            self._db.execute("BEGIN IMMEDIATE")
        finally:
            self._db.execute("PRAGMA busy_timeout = 0")

    def _run(self, batch: list[_Pending], isolated: bool) -> bool:
        """Run the batch in the open transaction; False (rolled back) when an operation
        failed and the batch was not `isolated`."""
        db = self._db
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
                    release_statements(error)
                    if not db.in_transaction:  # SQLite undid it all (disk full): so do we
                        raise
                    db.execute("ROLLBACK TO op")
                    db.execute("RELEASE op")
                    op.error = error
        except BaseException as error:
            _roll_back(db)
            if isolated or not isinstance(error, Exception):
                raise
            return False
        return True

    def _commit(self) -> None:
        try:
            self._db.execute("COMMIT")
        except BaseException:
            _roll_back(self._db)
            raise


class _Thread:
    """The writer's thread: runs what it is given, in order. (A ThreadPoolExecutor's futures,
    semaphore and condition cost a seventh of the loop's time per message at low load.)"""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def run(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def result(self, loop: asyncio.AbstractEventLoop, work: Callable[[], T]) -> asyncio.Future[T]:
        """`work`'s result (or error), run on the thread, as the loop's future."""
        done: asyncio.Future[T] = loop.create_future()

        def job() -> None:
            try:
                result = work()
            except BaseException as error:  # handed to the waiting coroutine
                loop.call_soon_threadsafe(_fail, done, error)
            else:
                loop.call_soon_threadsafe(_succeed, done, result)
        self.run(job)
        return done

    def stop(self) -> None:
        """Once everything given so far has run."""
        self._jobs.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:  # a fault of ours: the thread must serve the next job still
                log.exception("the writer thread's job failed")


def _succeed(future: asyncio.Future[T], result: T) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _roll_back(db: sqlite3.Connection) -> None:
    """Roll back what is left: after some errors (a full disk) SQLite has rolled back the
    whole transaction itself, and a second ROLLBACK would fail in place of the real error."""
    if db.in_transaction:
        db.execute("ROLLBACK")
