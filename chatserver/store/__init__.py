"""The Store: where conversations, messages and people are kept (SQLite by default)."""

from __future__ import annotations

from chatserver.store.base import AlreadyExists, StorageError, Store


async def open_store(url: str) -> Store:
    """A store from its URL: `sqlite:///PATH` (the default)."""
    if url.startswith("sqlite:///"):
        from chatserver.store.sqlite import SqliteStore

        return await SqliteStore.open(url)
    raise ValueError(f"unsupported database URL {url!r} (this version supports sqlite:///PATH)")


__all__ = ["AlreadyExists", "StorageError", "Store", "open_store"]
