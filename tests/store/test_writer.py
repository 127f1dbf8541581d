"""The group-commit writer: shared commits, per-operation failure, commit-order callbacks."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from chatserver.store.sqlite.unavailable import REASONS, unavailable
from chatserver.store.sqlite.writer import Writer


def connect(path: Path) -> sqlite3.Connection:
    """A connection set up as the store sets up its writer's: autocommit, WAL, FULL."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def stored(path: Path) -> list[tuple[int, str]]:
    """What a second process would read, through a fresh connection."""
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT id, text FROM items ORDER BY id").fetchall()
    finally:
        db.close()


def insert(text: str) -> Callable[[sqlite3.Connection], int]:
    def run(db: sqlite3.Connection) -> int:
        return int(db.execute("INSERT INTO items (text) VALUES (?)", (text,)).lastrowid or 0)
    return run


def insert_then_fail(text: str) -> Callable[[sqlite3.Connection], int]:
    def run(db: sqlite3.Connection) -> int:
        db.execute("INSERT INTO items (text) VALUES (?)", (text,))
        raise ValueError(f"refused {text}")
    return run


class HeldCommit:
    """Holds the writer's next COMMIT (on the writer thread, where it waits for the disk)
    until the test lets it go, so what is submitted meanwhile is known to go into the next
    batch together."""

    def __init__(self, writer: Writer) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self._commit = writer._commit
        writer._commit = self._held  # type: ignore[method-assign]

    def _held(self) -> None:
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(10), "the test never let the commit go"
        self._commit()

    async def wait_entered(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, 10)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "writer.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)")
    db.commit()
    db.close()
    return path


@pytest.fixture
async def writer(path: Path) -> AsyncIterator[Writer]:
    writer = Writer(connect(path))
    writer.start()
    yield writer
    await writer.close()


async def test_many_concurrent_submits_share_a_few_commits(writer: Writer, path: Path) -> None:
    ids = await asyncio.gather(*(writer.submit(insert(f"m{n}")) for n in range(200)))
    assert len(set(ids)) == 200
    assert len(stored(path)) == 200
    assert 1 <= writer.batches <= 20, f"200 concurrent inserts took {writer.batches} commits"


async def test_a_failing_operation_fails_only_its_caller_and_its_batch_commits(
        writer: Writer, path: Path) -> None:
    gate = HeldCommit(writer)
    held = asyncio.ensure_future(writer.submit(insert("first")))
    await gate.wait_entered()
    ops = [insert("a"), insert_then_fail("b"), insert("c"), insert("a"), insert("d")]
    waiting = asyncio.gather(*(writer.submit(op) for op in ops), return_exceptions=True)
    await asyncio.sleep(0.05)  # all five are queued behind the held commit
    gate.release.set()
    assert await held == 1
    a, b, c, a_again, d = await waiting
    assert isinstance(b, ValueError) and str(b) == "refused b"
    assert isinstance(a_again, sqlite3.IntegrityError)  # UNIQUE(text): "a" is there already
    assert isinstance(a, int) and isinstance(c, int) and isinstance(d, int)
    assert writer.batches == 2, "the five operations should have shared one commit"
    assert [text for _, text in stored(path)] == ["first", "a", "c", "d"]  # b's is undone


async def test_on_commit_runs_in_submit_order_and_only_for_committed_ops(
        writer: Writer, path: Path) -> None:
    announced: list[str] = []
    gate = HeldCommit(writer)
    held = asyncio.ensure_future(writer.submit(insert("first"),
                                               lambda _id: announced.append("first")))
    await gate.wait_entered()
    texts = [f"t{n}" for n in range(30)]
    calls = []
    for n, text in enumerate(texts):
        op = insert_then_fail(text) if n % 7 == 3 else insert(text)
        calls.append(writer.submit(op, lambda _id, text=text: announced.append(text)))
    waiting = asyncio.gather(*calls, return_exceptions=True)
    await asyncio.sleep(0.05)
    gate.release.set()
    await held
    results = await waiting
    committed = [t for n, t in enumerate(texts) if n % 7 != 3]
    assert announced == ["first", *committed]
    assert [type(r) for n, r in enumerate(results) if n % 7 == 3] == [ValueError] * 4
    assert [text for _, text in stored(path)] == ["first", *committed]


async def test_on_commit_runs_after_the_commit(writer: Writer, path: Path) -> None:
    seen: list[list[tuple[int, str]]] = []
    await writer.submit(insert("x"), lambda _id: seen.append(stored(path)))
    assert seen == [[(1, "x")]]


async def test_a_cancelled_caller_still_has_its_write_committed_and_announced(
        writer: Writer, path: Path) -> None:
    announced: list[int] = []
    gate = HeldCommit(writer)
    held = asyncio.ensure_future(writer.submit(insert("held")))
    await gate.wait_entered()
    caller = asyncio.ensure_future(writer.submit(insert("kept"), announced.append))
    later = asyncio.ensure_future(writer.submit(insert("after")))
    await asyncio.sleep(0.05)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    gate.release.set()
    await held
    await later
    assert [text for _, text in stored(path)] == ["held", "kept", "after"]
    assert announced == [2]


async def test_a_caller_cancelled_mid_batch_still_has_its_write_committed(
        writer: Writer, path: Path) -> None:
    announced: list[int] = []
    gate = HeldCommit(writer)
    caller = asyncio.ensure_future(writer.submit(insert("slow"), announced.append))
    await gate.wait_entered()
    caller.cancel()  # its batch is being committed right now
    with pytest.raises(asyncio.CancelledError):
        await caller
    gate.release.set()
    await writer.submit(insert("next"))
    assert [text for _, text in stored(path)] == ["slow", "next"]
    assert announced == [1]


async def test_a_result_is_visible_to_another_connection_the_moment_submit_returns(
        writer: Writer, path: Path) -> None:
    for n in range(20):
        row_id = await writer.submit(insert(f"v{n}"))
        assert (row_id, f"v{n}") in stored(path)


async def test_every_batch_is_committed_not_left_in_a_transaction(
        writer: Writer, path: Path) -> None:
    await asyncio.gather(*(writer.submit(insert(f"w{n}")) for n in range(50)))
    assert await writer.submit(lambda db: db.in_transaction)  # inside its own batch
    other = sqlite3.connect(path, isolation_level=None, timeout=0.5)
    try:  # no lock is held between batches: another process can write at once
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO items (text) VALUES ('other process')")
        other.execute("COMMIT")
    finally:
        other.close()
    assert len(stored(path)) == 51


def read_half_then_fail(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT id FROM items")
    for _ in rows:
        raise ValueError("refused half way through its rows")


async def test_an_operation_failing_half_way_through_a_read_leaves_no_snapshot_behind(
        writer: Writer, path: Path) -> None:
    # The failure's traceback (kept here, as a caller may keep it) holds the half-read
    # statement; were it left active, the writer's connection would keep its old snapshot
    # after the COMMIT and, once another process wrote, could never begin a write again.
    await asyncio.gather(*(writer.submit(insert(f"r{n}")) for n in range(3)))
    with pytest.raises(ValueError) as failed:
        await writer.submit(read_half_then_fail)
    other = sqlite3.connect(path, isolation_level=None, timeout=0.5)
    other.execute("INSERT INTO items (text) VALUES ('another process')")
    other.close()
    assert await writer.submit(insert("after the failure")) > 0
    assert [text for _, text in stored(path)][-2:] == ["another process", "after the failure"]
    assert failed.traceback  # still there for whoever logs it


async def test_while_held_off_no_batch_starts_and_the_writes_wait_for_the_next(
        writer: Writer, path: Path) -> None:
    async with writer.held_off():
        waiting = [writer.submit(insert(f"h{n}")) for n in range(3)]
        await asyncio.sleep(0.05)
        assert not any(f.done() for f in waiting)
        assert stored(path) == []
    before = writer.batches
    await asyncio.gather(*waiting)
    assert [text for _, text in stored(path)] == ["h0", "h1", "h2"]
    assert writer.batches == before + 1


async def test_a_write_lock_held_by_another_process_is_waited_for_off_the_event_loop(
        writer: Writer, path: Path) -> None:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO items (text) VALUES ('other process')")
    threading.Timer(0.5, other.execute, ("COMMIT",)).start()
    write = asyncio.ensure_future(writer.submit(insert("ours")))
    gaps, before = [], time.monotonic()
    while not write.done():  # the loop keeps serving while the writer waits for the lock
        await asyncio.sleep(0.01)
        gaps.append(time.monotonic() - before)
        before = time.monotonic()
    await write
    other.close()
    assert [text for _, text in stored(path)] == ["other process", "ours"]
    # a loop blocked by the wait would tick once or twice in those 0.5 s; a free one ticks
    # dozens of times, and still a good many on a busy machine
    assert sum(gaps) >= 0.4 and len(gaps) >= 10


async def test_the_writer_runs_on_a_connection_in_wal_mode_with_full_sync(
        writer: Writer) -> None:
    def pragmas(db: sqlite3.Connection) -> tuple[Any, Any]:
        return (db.execute("PRAGMA journal_mode").fetchone()[0],
                db.execute("PRAGMA synchronous").fetchone()[0])
    assert await writer.submit(pragmas) == ("wal", 2)  # 2 is FULL


async def test_close_finishes_what_was_submitted(path: Path) -> None:
    writer = Writer(connect(path))
    writer.start()
    calls = [asyncio.ensure_future(writer.submit(insert(f"c{n}"))) for n in range(10)]
    await asyncio.sleep(0)  # queued, not yet run
    await writer.close()
    assert len(await asyncio.wait_for(asyncio.gather(*calls), 5)) == 10
    assert len(stored(path)) == 10


async def test_close_during_a_batch_still_answers_its_callers(path: Path) -> None:
    """A server shutting down while a batch is being written: the batch commits, so its
    callers must hear so (and its events be announced) rather than wait forever."""
    writer = Writer(connect(path))
    writer.start()
    gate = HeldCommit(writer)
    announced: list[int] = []
    held = asyncio.ensure_future(writer.submit(insert("held"), announced.append))
    await gate.wait_entered()
    # close() may block the event loop while it waits for the thread: let the commit go
    # from another thread, as the end of a slow fsync would.
    opener = threading.Timer(0.2, gate.release.set)
    opener.start()
    try:
        await asyncio.wait_for(writer.close(), 5)
    finally:
        opener.join()
    done, _ = await asyncio.wait([held], timeout=2)
    if not done:
        held.cancel()
        pytest.fail("the batch committed during close() but its caller was never answered")
    assert held.result() == 1
    assert announced == [1]


async def test_submit_after_close_is_refused(path: Path) -> None:
    writer = Writer(connect(path))
    writer.start()
    await writer.close()
    with pytest.raises(RuntimeError, match="not running"):
        await writer.submit(insert("late"))


def fill_the_disk(db: sqlite3.Connection) -> None:
    """From now on the database may not grow by a page: a full disk, as SQLite sees one."""
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")


async def test_a_full_disk_fails_the_whole_batch_as_full_and_keeps_what_was_committed(
        writer: Writer, path: Path) -> None:
    # SQLite rolls back the whole transaction itself on a full disk: every operation of the
    # batch fails with that error (a success reported for one would be a write lost), and
    # the writer carries on once there is room again.
    assert await writer.submit(insert("committed before")) > 0
    await writer.submit(fill_the_disk)
    gate = HeldCommit(writer)
    held = asyncio.ensure_future(writer.submit(insert("held")))
    await gate.wait_entered()
    ops = [insert("small"), insert_then_fail("refused"), insert("big" * 20_000)]
    batch = [asyncio.ensure_future(writer.submit(op)) for op in ops]
    gate.release.set()
    await held
    results = await asyncio.gather(*batch, return_exceptions=True)
    assert isinstance(results[1], ValueError)
    for failed in (results[0], results[2]):
        assert isinstance(failed, sqlite3.Error)
        assert unavailable(failed) == REASONS[sqlite3.SQLITE_FULL]
    assert [text for _, text in stored(path)] == ["committed before", "held"]
    await writer.submit(lambda db: db.execute("PRAGMA max_page_count = 1000000"))
    assert await writer.submit(insert("small")) > 0
