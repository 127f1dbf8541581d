"""SQLite's own errors reach the store's callers as the backend-neutral StorageError (caused
by them, saying whether storage only refused for now); the store's other errors as they are."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chatserver.domain.errors import Refused
from chatserver.store import StorageError, open_store
from chatserver.store.sqlite import SqliteStore


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(db_url)
    yield store
    await store.close()


def missing_table(db: sqlite3.Connection) -> None:
    db.execute("SELECT * FROM no_such_table")


async def test_a_failed_write_is_a_storage_error_caused_by_sqlites(store: SqliteStore) -> None:
    with pytest.raises(StorageError) as failed:
        await store.transaction(missing_table)
    assert isinstance(failed.value.__cause__, sqlite3.OperationalError)
    assert "no_such_table" in str(failed.value) and failed.value.unavailable is None


async def test_a_failed_read_is_a_storage_error_caused_by_sqlites(store: SqliteStore) -> None:
    with pytest.raises(StorageError) as failed:
        await store.read(missing_table)
    assert isinstance(failed.value.__cause__, sqlite3.OperationalError)


async def test_a_write_refused_by_the_full_disk_says_so(store: SqliteStore) -> None:
    await store.transaction(lambda db: db.execute(
        f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}"))
    with pytest.raises(StorageError) as failed:
        await store.add_canned("long", "é" * 4000)  # new pages, which there is no room for
    assert failed.value.unavailable == "the server's storage is full; try again later"


async def test_the_stores_own_refusals_reach_the_caller_as_they_are(store: SqliteStore) -> None:
    with pytest.raises(Refused):
        await store.delete_canned(404)


async def test_a_store_that_cannot_be_opened_says_so_as_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as failed:
        await open_store(f"sqlite:///{tmp_path}")  # a folder, not a database file
    assert failed.value.unavailable is None  # a fault, not a refusal for now
