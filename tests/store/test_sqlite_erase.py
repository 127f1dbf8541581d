"""SQLite's own part of an erase: the words said are gone from the database's files
themselves, not only from every answer (secure_delete zeroes freed bytes, the search index is
merged, the WAL is cut to nothing)."""

from __future__ import annotations

from pathlib import Path

from chatserver.store import open_store
from tests.store.test_privacy_store import held

PHRASE = b"Zanzibarstrasse"


def file_bytes(folder: Path) -> bytes:
    """The database file, its WAL and its shared memory, as they are on disk now."""
    return b"".join(p.read_bytes() for p in sorted(folder.glob("chat.db*")))


async def test_once_an_erase_returns_the_files_hold_no_word_that_was_said(
        tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'chat.db'}")
    try:
        maya = await held(store)
        await store.inbox("all", maya.agent.id, True, "Zanzibarstrasse", 10)  # in the index
        assert PHRASE in file_bytes(tmp_path)
        await store.erase_customer(maya.id, None, "asked")
        assert PHRASE not in file_bytes(tmp_path)
        assert PHRASE.lower() not in file_bytes(tmp_path)  # as the search index keeps words
    finally:
        await store.close()
    assert PHRASE.lower() not in file_bytes(tmp_path)
