"""The SQLite store: WAL mode, one writer thread with group commit, one reader connection.

SqliteStore is composed of one group of methods per concept, each in its module with the
SQL it runs (agents.py, visitors.py, conversations.py, inbox.py, customers.py, ledger.py,
admin.py, reports.py); connection.py says how they run, writer.py and upkeep.py are the
threads that do it.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import aiosqlite

from chatserver.store.sqlite.admin import AdminMethods
from chatserver.store.sqlite.agents import AgentMethods
from chatserver.store.sqlite.attachments import AttachmentMethods
from chatserver.store.sqlite.connection import connect, connect_reader, sqlite_path
from chatserver.store.sqlite.conversations import ConversationMethods
from chatserver.store.sqlite.customers import CustomerMethods
from chatserver.store.sqlite.inbox import ConsoleMethods
from chatserver.store.sqlite.ledger import LedgerMethods
from chatserver.store.sqlite.migrations import migrate
from chatserver.store.sqlite.privacy import PrivacyMethods
from chatserver.store.sqlite.provider_refunds import ProviderRefundMethods
from chatserver.store.sqlite.reports import ReportMethods
from chatserver.store.sqlite.routing import RoutingMethods
from chatserver.store.sqlite.unavailable import for_caller
from chatserver.store.sqlite.upkeep import Upkeep
from chatserver.store.sqlite.visitors import VisitorMethods
from chatserver.store.sqlite.webhooks import WebhookMethods
from chatserver.store.sqlite.writer import Writer


class SqliteStore(AgentMethods, VisitorMethods, ConversationMethods, ConsoleMethods,
                  CustomerMethods, LedgerMethods, AdminMethods, ReportMethods, RoutingMethods,
                  WebhookMethods, PrivacyMethods,
                  ProviderRefundMethods, AttachmentMethods):
    def __init__(self, writer: Writer, reader: aiosqlite.Connection,
                 views: sqlite3.Connection, upkeep: Upkeep) -> None:
        super().__init__(writer, reader, views)
        self._upkeep = upkeep

    @classmethod
    async def open(cls, url: str, synchronous: str = "FULL") -> SqliteStore:
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            return await cls._open(path, synchronous)
        except sqlite3.Error as error:
            raise for_caller(error) from error

    @classmethod
    async def _open(cls, path: str, synchronous: str) -> SqliteStore:
        db = connect(path, synchronous)
        migrate(db)
        db.execute("PRAGMA wal_autocheckpoint = 0")  # upkeep's job, not the commit's
        writer = Writer(db, for_caller=for_caller)
        writer.start()
        upkeep = Upkeep(connect(path, synchronous), writer)
        upkeep.start()
        reader = await connect_reader(path)
        views = connect(path, synchronous)
        views.execute("PRAGMA query_only = ON")
        return cls(writer, reader, views, upkeep)

    async def close(self) -> None:
        await self._upkeep.close()
        await self._writer.close()
        await self._reader.close()
        await self._close_views()

    # --- settings kept in the database --------------------------------------------------
    async def secret(self, name: str) -> str:
        """A secret generated on first use and kept, so sessions survive restarts."""
        def get_or_create(db: sqlite3.Connection) -> str:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                       (name, secrets.token_urlsafe(32)))
            return str(db.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()[0])
        return await self._writer.submit(get_or_create)

    async def setting(self, name: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE key = ?", (name,))
        return str(row["value"]) if row else None

    async def set_setting(self, name: str, value: str) -> None:
        await self._writer.submit(lambda db: db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
            "value = excluded.value", (name, value)))


__all__ = ["SqliteStore", "sqlite_path"]
