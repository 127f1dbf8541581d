"""Schema migrations: fresh, repeated, upgraded in place, refused when newer, atomic steps."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatserver.store.sqlite import inbox, migrations
from chatserver.store.sqlite.migrations import MIGRATIONS, migrate

EXTRA = """
    CREATE TABLE tags (id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL
        REFERENCES conversations(id), name TEXT NOT NULL);
    ALTER TABLE agents ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
    CREATE INDEX tags_by_conversation ON tags(conversation_id)
"""


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def schema(db: sqlite3.Connection) -> list[tuple[str, str, str | None]]:
    return db.execute("SELECT type, name, sql FROM sqlite_schema ORDER BY type, name").fetchall()


def tables(db: sqlite3.Connection) -> set[str]:
    return {name for kind, name, _ in schema(db) if kind == "table"}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    db = connect(tmp_path / "chat.db")
    yield db
    db.close()


def add_agent_row(db: sqlite3.Connection, email: str = "ann@example.com") -> None:
    db.execute("INSERT INTO agents (email, name, role, created_at) "
               "VALUES (?, 'Ann', 'agent', '2024-01-01T00:00:00Z')", (email,))


def test_a_fresh_database_migrates_to_the_latest_version(db: sqlite3.Connection) -> None:
    assert version(db) == 0
    assert migrate(db) == len(MIGRATIONS)
    assert version(db) == len(MIGRATIONS)
    assert {"meta", "agents", "api_tokens", "customers", "visitors", "visitor_tokens",
            "conversations", "messages"} <= tables(db)
    assert not db.in_transaction


def test_migrating_again_changes_nothing(db: sqlite3.Connection) -> None:
    migrate(db)
    add_agent_row(db)
    before = schema(db)
    assert migrate(db) == len(MIGRATIONS)
    assert migrate(db) == len(MIGRATIONS)
    assert schema(db) == before
    assert version(db) == len(MIGRATIONS)
    assert db.execute("SELECT email FROM agents").fetchall() == [("ann@example.com",)]


def test_an_older_database_is_upgraded_in_place_keeping_its_rows(
        db: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    migrate(db)  # the database as the released version left it
    add_agent_row(db)
    db.execute("INSERT INTO meta (key, value) VALUES ('secret_key', 'kept')")
    monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, EXTRA])  # a newer release
    assert migrate(db) == len(MIGRATIONS) + 1
    assert version(db) == len(MIGRATIONS) + 1
    assert "tags" in tables(db)
    assert db.execute("SELECT email, name, timezone FROM agents").fetchall() == [
        ("ann@example.com", "Ann", "UTC")]
    assert db.execute("SELECT value FROM meta WHERE key = 'secret_key'").fetchone() == ("kept",)


def test_messages_written_before_search_moved_out_of_a_trigger_stay_searchable_once(
        db: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:4])  # indexed by a trigger
    migrate(db)
    db.execute("INSERT INTO visitors (id, created_at) VALUES ('v', '2024-01-01T00:00:00Z')")
    db.execute("INSERT INTO conversations (visitor_id, status, created_at, waiting_since) "
               "VALUES ('v', 'queued', 'x', 'x')")
    db.execute("INSERT INTO messages (conversation_id, seq, author_role, author_name, text, "
               "created_at) VALUES (1, 1, 'visitor', 'V', 'refund please', 'x')")
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS)
    migrate(db)
    inbox.index_new_messages(db)  # what upkeep does once a second
    assert db.execute("SELECT rowid FROM messages_search WHERE messages_search MATCH "
                      "'refund'").fetchall() == [(1,)]


def test_chats_waiting_before_the_wait_was_kept_are_still_seen_waiting(
        db: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    step = next(n for n, script in enumerate(MIGRATIONS) if "unanswered_since" in script)
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:step])
    migrate(db)
    for visitor, status in (("v1", "active"), ("v2", "active"), ("v3", "closed")):
        db.execute("INSERT INTO visitors (id, created_at) VALUES (?, 'x')", (visitor,))
        db.execute("INSERT INTO conversations (visitor_id, status, created_at, waiting_since) "
                   "VALUES (?, ?, 'x', 'x')", (visitor, status))
    said = [(1, 1, "visitor", "t1"), (1, 2, "agent", "t2"), (1, 3, "visitor", "t3"),
            (1, 4, "visitor", "t4"), (2, 1, "visitor", "t5"), (2, 2, "agent", "t6"),
            (3, 1, "visitor", "t7")]
    db.executemany("INSERT INTO messages (conversation_id, seq, author_role, author_name, "
                   "text, created_at) VALUES (?, ?, ?, 'X', 'hi', ?)", said)
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS)
    migrate(db)
    assert db.execute("SELECT id, unanswered_since FROM conversations ORDER BY id").fetchall() \
        == [(1, "t3"), (2, None), (3, None)]  # answered; closed: nobody waits


def test_tokens_made_before_integration_tokens_keep_working_and_may_have_no_agent(
        db: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    step = next(n for n, script in enumerate(MIGRATIONS) if "api_tokens_new" in script)
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:step])  # every token an agent's
    migrate(db)
    add_agent_row(db)
    db.execute("INSERT INTO api_tokens (agent_id, token_hash, label, created_at) "
               "VALUES (1, 'h1', 'zapier', 'x')")
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS)
    migrate(db)
    db.execute("INSERT INTO api_tokens (agent_id, token_hash, label, created_at) "
               "VALUES (NULL, 'h2', 'shop', 'y')")
    assert db.execute("SELECT id, agent_id, token_hash, label FROM api_tokens").fetchall() == [
        (1, 1, "h1", "zapier"), (2, None, "h2", "shop")]


def test_an_empty_database_at_version_zero_gets_every_step(
        db: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, EXTRA])
    assert migrate(db) == len(MIGRATIONS) + 1
    assert version(db) == len(MIGRATIONS) + 1
    assert {"agents", "messages", "tags"} <= tables(db)


def test_a_database_newer_than_the_code_is_refused_and_left_untouched(
        db: sqlite3.Connection) -> None:
    migrate(db)
    add_agent_row(db)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 3}")
    db.execute("CREATE TABLE from_the_future (x)")
    before = schema(db)
    with pytest.raises(RuntimeError, match="newer than this chatserver"):
        migrate(db)
    assert version(db) == len(MIGRATIONS) + 3
    assert schema(db) == before
    assert db.execute("SELECT count(*) FROM agents").fetchone() == (1,)
    assert not db.in_transaction


def test_a_failing_step_is_rolled_back_entirely(
        db: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    migrate(db)
    add_agent_row(db)
    before = schema(db)
    broken = """
        CREATE TABLE half_made (id INTEGER PRIMARY KEY);
        ALTER TABLE agents ADD COLUMN nickname TEXT;
        INSERT INTO half_made (id) VALUES (1);
        UPDATE agents SET name = 'changed';
        INSERT INTO no_such_table VALUES (1)
    """
    monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        migrate(db)
    assert version(db) == len(MIGRATIONS)
    assert schema(db) == before
    assert "half_made" not in tables(db)
    assert db.execute("SELECT name FROM agents").fetchall() == [("Ann",)]
    assert not db.in_transaction


def test_a_failing_step_keeps_the_steps_before_it(
        db: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, EXTRA, "CREATE TABLE tags (x)"])
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        migrate(db)
    assert version(db) == len(MIGRATIONS) + 1
    assert "tags" in tables(db)


def test_the_latest_schema_is_what_a_fresh_database_gets_step_by_step(tmp_path: Path) -> None:
    """Migrating one step per release gives the same schema as migrating all at once."""
    stepwise, at_once = connect(tmp_path / "a.db"), connect(tmp_path / "b.db")
    try:
        for upto in range(1, len(MIGRATIONS) + 1):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:upto])
                assert migrate(stepwise) == upto
        migrate(at_once)
        assert schema(stepwise) == schema(at_once)
    finally:
        stepwise.close()
        at_once.close()


def test_two_processes_migrating_a_fresh_database_at_once_both_succeed(tmp_path: Path) -> None:
    """`chatserver serve` and `chatserver agents add` started together on a new database:
    each reads version 0, one migrates, and the other must then see it is done."""
    path = tmp_path / "chat.db"
    holder = connect(path)  # holds the write lock while both read the version
    holder.execute("BEGIN IMMEDIATE")
    errors: list[BaseException] = []
    versions: list[int] = []

    def run() -> None:
        db = connect(path)
        try:
            versions.append(migrate(db))
        except BaseException as error:
            errors.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # both have read user_version = 0 and wait for the lock
    holder.execute("COMMIT")
    for thread in threads:
        thread.join(20)
    holder.close()
    assert errors == [], f"a concurrent migration failed: {errors!r}"
    assert versions == [len(MIGRATIONS)] * 2
    check = connect(path)
    try:
        assert version(check) == len(MIGRATIONS)
    finally:
        check.close()


def test_a_conversation_assigned_before_first_assignments_were_kept_keeps_its_time(
        db: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    step = next(n for n, s in enumerate(MIGRATIONS) if "first_assigned_at" in s)
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:step])
    migrate(db)
    db.execute("INSERT INTO visitors (id, created_at) VALUES ('v', '2024-01-01T00:00:00Z')")
    db.execute("INSERT INTO conversations (visitor_id, status, created_at, waiting_since, "
               "assigned_at) VALUES ('v', 'active', 'x', '2024-01-01T00:00:00Z', "
               "'2024-01-01T00:00:13Z')")
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS)
    migrate(db)
    assert db.execute("SELECT first_assigned_at FROM conversations").fetchall() == [
        ("2024-01-01T00:00:13Z",)]
