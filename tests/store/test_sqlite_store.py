"""The SQLite store's own: the database's constraints, WAL and checkpoints, migrations, search
indexing, its reads, and the rows the reports are made from (the interface's contract is the
behaviour suite's: tests/store/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
from collections.abc import AsyncIterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from chatserver.domain.models import Agent, Author
from chatserver.domain.reports import report
from chatserver.store.sqlite import SqliteStore, inbox, sqlite_path
from chatserver.store.sqlite import reports as report_rows
from chatserver.store.sqlite.migrations import MIGRATIONS
from tests.backends import query
from tests.conftest import T0, Clock


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(db_url)
    yield store
    await store.close()


async def new_visitor(store: SqliteStore, name: str = "Vera") -> Author:
    visitor, _token = await store.create_visitor({"name": name})
    return Author("visitor", name, visitor.id)


async def new_agent(store: SqliteStore, email: str = "ann@example.com",
                    name: str = "Ann") -> tuple[Agent, Author]:
    agent = await store.add_agent(email, name, "agent", 3, None)
    return agent, Author("agent", name, str(agent.id))


async def open_chat(store: SqliteStore, who: Author) -> int:
    posted = await store.post_visitor_message(who, "first", "hello", 1.0)
    assert posted.opened is not None and posted.message.seq == 1
    return posted.message.conversation_id


async def test_the_database_refuses_a_second_open_conversation_for_a_visitor(
        store: SqliteStore, db_url: str) -> None:
    visitor = await new_visitor(store)
    await open_chat(store, visitor)
    db = sqlite3.connect(sqlite_path(db_url))
    try:
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO conversations (visitor_id, status, created_at, waiting_since) "
                       "VALUES (?, 'queued', 'now', 'now')", (visitor.id,))
    finally:
        db.close()


async def test_committed_messages_become_searchable_by_themselves_each_once(
        store: SqliteStore, db_url: str) -> None:
    visitor = await new_visitor(store)
    await open_chat(store, visitor)
    await store.post_visitor_message(visitor, "a", "parcel arrived broken", 1.0)
    await store.post_visitor_message(visitor, "b", "the parcel box too", 1.0)
    await store.post_visitor_message(visitor, "a", "parcel resent, stored once", 1.0)

    def found() -> list[tuple[Any, ...]]:
        return query(db_url, "SELECT m.client_id FROM messages_search s JOIN messages m "
                     "ON m.id = s.rowid WHERE messages_search MATCH 'parcel' ORDER BY m.id")
    for _ in range(30):  # upkeep indexes once a second while there are commits
        if found():
            break
        await asyncio.sleep(0.1)
    assert found() == [("a",), ("b",)]
    await store.transaction(inbox.index_new_messages)  # what a search does first
    assert found() == [("a",), ("b",)]


async def test_the_store_is_in_wal_mode_with_full_sync(store: SqliteStore, db_url: str) -> None:
    def pragmas(db: sqlite3.Connection) -> tuple[Any, ...]:
        return tuple(db.execute(f"PRAGMA {name}").fetchone()[0]
                     for name in ("journal_mode", "synchronous", "foreign_keys"))
    assert await store.writer.submit(pragmas) == ("wal", 2, 1)  # synchronous 2 is FULL
    assert query(db_url, "PRAGMA journal_mode") == [("wal",)]  # kept in the file


async def test_commits_are_copied_into_the_database_file_off_the_writer(
        store: SqliteStore, db_url: str, tmp_path: Path) -> None:
    assert await store.writer.submit(
        lambda db: db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]) == 0
    visitor = await new_visitor(store)
    await open_chat(store, visitor)
    copy = tmp_path / "without-wal.db"
    for _ in range(30):  # upkeep checkpoints once a second while there are commits
        shutil.copyfile(sqlite_path(db_url), copy)  # the file alone, without its WAL
        with contextlib.suppress(sqlite3.OperationalError):  # no schema in it yet
            if query(f"sqlite:///{copy}", "SELECT count(*) FROM messages") == [(1,)]:
                return
        await asyncio.sleep(0.1)
    pytest.fail("the committed message never reached the database file")


async def test_opening_a_store_migrates_the_database(store: SqliteStore, db_url: str) -> None:
    assert query(db_url, "PRAGMA user_version") == [(len(MIGRATIONS),)]


async def test_what_the_store_wrote_is_there_after_reopening(db_url: str) -> None:
    store = await SqliteStore.open(db_url)
    try:
        visitor = await new_visitor(store)
        await asyncio.gather(*(store.post_visitor_message(visitor, f"k{n}", f"m{n}", 1.0)
                               for n in range(30)))
        secret = await store.secret("secret_key")
    finally:
        await store.close()
    reopened = await SqliteStore.open(db_url)
    try:
        current = await reopened.current_conversation(str(visitor.id))
        assert current is not None and current.last_seq == 30
        assert [m.seq for m in await reopened.messages(current.id)] == list(range(1, 31))
        assert await reopened.secret("secret_key") == secret
    finally:
        await reopened.close()


async def test_a_read_failing_half_way_through_leaves_no_old_snapshot_behind(
        store: SqliteStore) -> None:
    def fail_half_way(db: sqlite3.Connection) -> None:
        tables = db.execute("SELECT name FROM sqlite_master")
        for _ in tables:
            raise ValueError("refused half way through its rows")

    with pytest.raises(ValueError) as failed:  # kept, as a caller may keep it
        await store.read(fail_half_way)
    await store.transaction(lambda db: db.execute(
        "INSERT INTO meta (key, value) VALUES ('written', 'after the failed read')"))
    assert await store.read(lambda db: db.execute(
        "SELECT value FROM meta WHERE key = 'written'").fetchone()[0]) == "after the failed read"
    assert failed.traceback


# --- the rows the reports are made from ---------------------------------------------------
DAY = date(2026, 3, 2)  # T0's


async def test_a_transfer_keeps_the_first_wait_and_both_agents_who_answered_count(
        store: SqliteStore, store_clock: Clock) -> None:
    conversation_id = await open_chat(store, await new_visitor(store))  # queued at T0
    ann, as_ann = await new_agent(store)
    bob, as_bob = await new_agent(store, "bob@example.com", "Bob")
    _, as_sue = await new_agent(store, "sue@example.com", "Sue")
    store_clock.at = T0 + 13
    first = await store.assign(conversation_id, ann.id, "Ann joined the chat.")
    await store.post_agent_message(conversation_id, as_ann, "a1", "Hello!", False)
    store_clock.at = T0 + 272
    second = await store.assign(conversation_id, bob.id, "Bob took over the chat.",
                                from_agent=ann.id)
    await store.post_agent_message(conversation_id, as_bob, "b1", "I can help.", False)
    await store.post_agent_message(conversation_id, as_sue, "s1", "Watch out", True)  # a note

    assert (first.waited, second.waited) == (13, None)
    assert await store.recent_waits(10) == [13]  # what the visitors' wait estimate starts from
    [chat] = await store.read(partial(report_rows.chats, first=DAY, last=DAY))
    assert chat.answered_by == ("Ann", "Bob")
    total = report([chat], [], DAY, DAY)["total"]
    assert total["waiting_seconds"] == {"median": 13, "p90": 13, "count": 1}
    assert total["chats_per_agent"] == {"Ann": 1, "Bob": 1}


async def test_a_chat_nobody_wrote_in_counts_for_no_agent(store: SqliteStore,
                                                          store_clock: Clock) -> None:
    conversation_id = await open_chat(store, await new_visitor(store))
    ann, _ = await new_agent(store)
    await store.assign(conversation_id, ann.id, "Ann joined the chat.")
    [chat] = await store.read(partial(report_rows.chats, first=DAY, last=DAY))
    assert chat.answered_by == () and chat.assigned == T0
