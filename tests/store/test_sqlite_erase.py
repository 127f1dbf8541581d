"""SQLite's own part of an erase: the words said are gone from the database file itself, not
only from every answer (secure_delete zeroes freed bytes; the search index is merged)."""

from __future__ import annotations

from pathlib import Path

from chatserver.store import open_store
from tests.store.test_privacy_store import held

PHRASE = b"Zanzibarstrasse"


def file_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.glob("chat.db*"))


async def test_after_an_erase_and_a_checkpoint_the_file_holds_no_word_that_was_said(
        tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'chat.db'}")
    maya = await held(store)
    await store.inbox("all", maya.agent.id, True, "Zanzibarstrasse", 10)  # indexed for search
    await store.close()  # the last connection's checkpoint: the WAL copied into the file
    assert PHRASE in file_bytes(tmp_path)

    store = await open_store(f"sqlite:///{tmp_path / 'chat.db'}")
    await store.erase_customer(maya.id, None, "asked")
    await store.close()
    assert PHRASE not in file_bytes(tmp_path)
    assert PHRASE.lower() not in file_bytes(tmp_path)  # as the search index keeps its words
