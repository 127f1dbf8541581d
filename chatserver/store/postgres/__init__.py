"""The PostgreSQL store, for several servers sharing one database: a pool of asyncpg
connections, each write one transaction (a message one server-side function call).

PostgresStore is composed of one group of methods per concept, each in its module with the
SQL it runs (agents.py, visitors.py, conversations.py, inbox.py, customers.py, ledger.py,
admin.py, reports.py), as SqliteStore is; connection.py says how they run and what the URL
may say (`?schema=NAME`), migrations.py what the schema is.
"""

from __future__ import annotations

import secrets

from chatserver.store.postgres.admin import AdminMethods
from chatserver.store.postgres.agents import AgentMethods
from chatserver.store.postgres.attachments import AttachmentMethods
from chatserver.store.postgres.connection import create_pool, postgres_target, storage_errors
from chatserver.store.postgres.conversations import ConversationMethods
from chatserver.store.postgres.customers import CustomerMethods
from chatserver.store.postgres.inbox import ConsoleMethods
from chatserver.store.postgres.ledger import LedgerMethods
from chatserver.store.postgres.migrations import migrate
from chatserver.store.postgres.privacy import PrivacyMethods
from chatserver.store.postgres.provider_refunds import ProviderRefundMethods
from chatserver.store.postgres.reports import ReportMethods
from chatserver.store.postgres.routing import RoutingMethods
from chatserver.store.postgres.visitors import VisitorMethods
from chatserver.store.postgres.webhooks import WebhookMethods


class PostgresStore(AgentMethods, VisitorMethods, ConversationMethods, ConsoleMethods,
                    CustomerMethods, LedgerMethods, AdminMethods, ReportMethods, RoutingMethods,
                    WebhookMethods, PrivacyMethods,
                    ProviderRefundMethods, AttachmentMethods):
    @classmethod
    async def open(cls, url: str) -> PostgresStore:
        target = postgres_target(url)
        pool = await create_pool(target)
        try:
            with storage_errors():
                async with pool.acquire() as db:
                    # a message is acknowledged once committed: committed must mean durable
                    if await db.fetchval("SHOW synchronous_commit") == "off":
                        raise RuntimeError("PostgreSQL's synchronous_commit is off: a "
                                           "message acknowledged could be lost in a crash")
                    await migrate(db, target.schema)
        except BaseException:
            await pool.close()
            raise
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    # --- settings kept in the database --------------------------------------------------
    async def secret(self, name: str) -> str:
        """A secret generated on first use and kept, so sessions survive restarts."""
        # DO UPDATE, not DO NOTHING: it returns the kept value, even one just committed
        row = await self._one(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE "
            "SET value = meta.value RETURNING value", name, secrets.token_urlsafe(32))
        assert row is not None
        return str(row["value"])

    async def setting(self, name: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE key = $1", name)
        return str(row["value"]) if row else None

    async def set_setting(self, name: str, value: str) -> None:
        await self._run("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO "
                        "UPDATE SET value = excluded.value", name, value)


__all__ = ["PostgresStore", "postgres_target"]
