"""The Store: where conversations, messages and people are kept (SQLite by default, or
PostgreSQL for several servers)."""

from __future__ import annotations

from chatserver.store.base import AlreadyExists, StorageError, Store


async def open_store(url: str, attachments_dir: str | None = None) -> Store:
    """A store from its URL: `sqlite:///PATH` (the default), or
    `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?schema=NAME]` (also `postgres://`; see
    store/postgres/connection.py). `attachments_dir`: attachments' bytes are kept there
    (store/files.py), not in the database."""
    if url.startswith("sqlite:///"):
        from chatserver.store.sqlite import SqliteStore

        sqlite = await SqliteStore.open(url)
        sqlite.keep_files_in(attachments_dir)
        return sqlite
    if url.startswith(("postgresql://", "postgres://")):
        from chatserver.store.postgres import PostgresStore

        postgres = await PostgresStore.open(url)
        postgres.keep_files_in(attachments_dir)
        return postgres
    raise ValueError(f"unsupported database URL {url!r} (this version supports sqlite:///PATH "
                     "and postgresql://USER@HOST/DB)")


__all__ = ["AlreadyExists", "StorageError", "Store", "open_store"]
