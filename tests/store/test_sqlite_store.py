"""The SQLite store: gapless numbering, idempotent client ids, one open conversation, WAL."""

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

from chatserver.domain.models import Agent, Author, Visitor
from chatserver.domain.reports import report
from chatserver.store.sqlite import SqliteStore, inbox, sqlite_path
from chatserver.store.sqlite import reports as report_rows
from chatserver.store.sqlite.migrations import MIGRATIONS
from chatserver.store.types import NotAllowed
from tests.conftest import T0, Clock, query


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


def assert_gapless(db_url: str, conversation_id: int) -> list[tuple[Any, ...]]:
    found = query(db_url, "SELECT seq, author_role, client_id FROM messages "
                 "WHERE conversation_id = ? AND seq IS NOT NULL ORDER BY seq", conversation_id)
    assert [row[0] for row in found] == list(range(1, len(found) + 1))
    assert query(db_url, "SELECT last_seq FROM conversations WHERE id = ?",
                conversation_id) == [(len(found),)]
    return found


async def test_seq_is_gapless_across_visitor_agent_and_system_messages_posted_at_once(
        store: SqliteStore, db_url: str) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    agent, staff = await new_agent(store)
    await store.assign(conversation_id, agent.id, "Ann joined")  # seq 2
    posts = []
    for n in range(100):
        if n % 10 == 9:
            posts.append(store.assign(conversation_id, agent.id, f"system {n}",  # re-assign
                                      from_agent=agent.id))
        elif n % 2:
            posts.append(store.post_agent_message(conversation_id, staff, f"a{n}", f"agent {n}",
                                                  private=False))
        else:
            posts.append(store.post_visitor_message(visitor, f"v{n}", f"visitor {n}", 1.0))
    results = await asyncio.gather(*posts)
    seqs = [getattr(r, "message", r).seq for r in results]
    assert sorted(seqs) == list(range(3, 103))  # no gaps, no duplicates
    found = assert_gapless(db_url, conversation_id)
    assert len(found) == 102
    assert sum(1 for _, role, _ in found if role == "system") == 11
    conversation = await store.conversation(conversation_id)
    assert conversation is not None and conversation.last_seq == 102


async def test_seq_follows_commit_order(store: SqliteStore, db_url: str) -> None:
    """Messages are announced at commit in submit order, each with the next seq."""
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    announced: list[int | None] = []
    await asyncio.gather(*(
        store.post_visitor_message(visitor, f"o{n}", f"text {n}", 1.0,
                                   on_commit=lambda p: announced.append(p.message.seq))
        for n in range(50)))
    assert announced == list(range(2, 52))
    assert [m.seq for m in await store.messages(conversation_id)] == list(range(1, 52))


async def test_private_notes_are_numbered_apart_and_never_take_a_seq(
        store: SqliteStore, db_url: str) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    agent, staff = await new_agent(store)
    await store.assign(conversation_id, agent.id, "Ann joined")
    posts = [store.post_agent_message(conversation_id, staff, f"n{n}", f"note {n}", private=True)
             if n % 3 == 0 else
             store.post_visitor_message(visitor, f"v{n}", f"visitor {n}", 1.0)
             for n in range(60)]
    results = await asyncio.gather(*posts)
    notes = [r.message for r in results if r.message.private]
    assert sorted(m.note_seq for m in notes) == list(range(1, 21))
    assert all(m.seq is None for m in notes)
    assert_gapless(db_url, conversation_id)
    assert query(db_url, "SELECT last_seq, last_note_seq FROM conversations WHERE id = ?",
                conversation_id) == [(2 + 40, 20)]
    visible = await store.messages(conversation_id)
    assert not any(m.private for m in visible)
    with_notes = await store.messages(conversation_id, notes=True)
    assert sum(m.private for m in with_notes) == 20


async def test_a_client_id_sent_twice_is_stored_once(store: SqliteStore, db_url: str) -> None:
    visitor = await new_visitor(store)
    first = await store.post_visitor_message(visitor, "same", "hello", 1.0)
    again = await store.post_visitor_message(visitor, "same", "hello (resent)", 1.0)
    assert not first.duplicate and again.duplicate
    assert again.message.seq == first.message.seq
    assert again.message.conversation_id == first.message.conversation_id
    assert again.message.text == "hello"
    assert query(db_url, "SELECT count(*) FROM messages WHERE client_id = 'same'") == [(1,)]


async def test_a_client_id_sent_twice_at_once_is_stored_once(
        store: SqliteStore, db_url: str) -> None:
    visitor = await new_visitor(store)
    results = await asyncio.gather(*(store.post_visitor_message(visitor, "twin", "hi", 1.0)
                                     for _ in range(10)))
    assert sum(not r.duplicate for r in results) == 1
    assert {r.message.seq for r in results} == {1}
    assert query(db_url, "SELECT count(*) FROM messages") == [(1,)]
    assert query(db_url, "SELECT count(*) FROM conversations") == [(1,)]


async def test_the_same_client_id_from_another_sender_is_another_message(
        store: SqliteStore, db_url: str) -> None:
    vera, walt = await new_visitor(store, "Vera"), await new_visitor(store, "Walt")
    agent, staff = await new_agent(store)
    from_vera = await store.post_visitor_message(vera, "c1", "from Vera", 1.0)
    from_walt = await store.post_visitor_message(walt, "c1", "from Walt", 1.0)
    conversation_id = from_vera.message.conversation_id
    await store.assign(conversation_id, agent.id, "Ann joined")
    from_ann = await store.post_agent_message(conversation_id, staff, "c1", "from Ann",
                                              private=False)
    assert not from_walt.duplicate and not from_ann.duplicate
    assert from_walt.message.conversation_id != conversation_id
    assert from_walt.message.seq == 1
    assert from_ann.message.seq == 3 and from_ann.message.text == "from Ann"
    assert sorted(query(db_url, "SELECT text FROM messages WHERE client_id = 'c1'")) == [
        ("from Ann",), ("from Vera",), ("from Walt",)]


async def test_a_client_id_resent_after_the_conversation_closed_is_not_stored_again(
        store: SqliteStore, db_url: str) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    await store.close_conversation(conversation_id, "visitor", "Vera left")
    again = await store.post_visitor_message(visitor, "first", "hello", 1.0)
    assert again.duplicate and again.opened is None
    assert again.message.conversation_id == conversation_id and again.message.seq == 1
    assert query(db_url, "SELECT count(*) FROM conversations") == [(1,)]


async def test_a_visitor_has_one_open_conversation_however_many_messages_open_it_at_once(
        store: SqliteStore, db_url: str) -> None:
    visitor = await new_visitor(store)
    results = await asyncio.gather(*(store.post_visitor_message(visitor, f"c{n}", "hi", 1.0)
                                     for n in range(20)))
    assert sum(r.opened is not None for r in results) == 1
    assert len({r.message.conversation_id for r in results}) == 1
    assert query(db_url, "SELECT count(*) FROM conversations WHERE status != 'closed'") == [(1,)]


async def test_a_message_after_the_close_opens_a_new_conversation(
        store: SqliteStore, db_url: str) -> None:
    visitor = await new_visitor(store)
    first = await open_chat(store, visitor)
    closed = await store.close_conversation(first, "visitor", "Vera left")
    assert closed.message.seq == 2 and closed.conversation.status == "closed"
    posted = await store.post_visitor_message(visitor, "second", "me again", 1.0)
    assert posted.opened is not None and posted.opened.id != first
    assert posted.message.seq == 1
    current = await store.current_conversation(visitor.id)
    assert current is not None and current.id == posted.opened.id
    latest_closed = await store.latest_closed(visitor.id)
    assert latest_closed is not None and latest_closed.id == first


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


async def test_an_agent_cannot_post_to_a_closed_conversation_but_can_add_a_note(
        store: SqliteStore, db_url: str) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    agent, staff = await new_agent(store)
    await store.assign(conversation_id, agent.id, "Ann joined")
    await store.close_conversation(conversation_id, "agent", "Ann closed the chat")
    with pytest.raises(NotAllowed):
        await store.post_agent_message(conversation_id, staff, "late", "too late", private=False)
    note = await store.post_agent_message(conversation_id, staff, "wrapup", "refunded",
                                          private=True)
    assert note.message.note_seq == 1
    assert query(db_url, "SELECT count(*) FROM messages WHERE client_id = 'late'") == [(0,)]
    assert_gapless(db_url, conversation_id)


async def test_a_refused_write_leaves_no_trace_and_does_not_burn_a_seq(
        store: SqliteStore, db_url: str) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    await store.close_conversation(conversation_id, "visitor", "bye")
    with pytest.raises(NotAllowed):
        await store.close_conversation(conversation_id, "visitor", "bye again")
    assert_gapless(db_url, conversation_id)
    assert query(db_url, "SELECT last_seq FROM conversations") == [(2,)]


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


async def test_a_visitor_token_finds_its_visitor_and_no_other(store: SqliteStore) -> None:
    vera, vera_token = await store.create_visitor({"name": "Vera"})
    walt, walt_token = await store.create_visitor({"name": "Walt"})
    found = await store.visitor_by_token(vera_token)
    assert isinstance(found, Visitor) and found.id == vera.id
    other = await store.visitor_by_token(walt_token)
    assert other is not None and other.id == walt.id
    assert await store.visitor_by_token(vera_token + "x") is None
    assert vera_token not in str(await store.visitor(vera.id))


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
