"""PostgresStore's routing across processes: the registry of server processes and their
agents' connections, and the routing transaction (Store.routing), which first raises the
one `routing` row's version: that row lock makes every process's routing changes happen one
at a time (not SKIP LOCKED: a decision needs the queue head and every agent's load). Times
are the database's clock, so processes on machines whose clocks differ agree on them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from chatserver.store import records
from chatserver.store.postgres import conversations, rows
from chatserver.store.postgres.announcer import Announcer
from chatserver.store.postgres.connection import Connection, Runs, storage_errors
from chatserver.store.types import Changed, OnCommit, Picture

NOW = "extract(epoch FROM clock_timestamp())::float8"


async def picture(db: Connection, version: int, now: float) -> Picture:
    agents = await db.fetch(f"SELECT {rows.AGENT_COLUMNS}, disconnected_at, last_assigned_at "
                            "FROM agents ORDER BY id")
    live = await db.fetch("SELECT agent_id, count(*) FROM agent_connections GROUP BY agent_id")
    found = await db.fetch(rows.CONVERSATION_SELECT + "WHERE c.status <> 'closed' "
                           "ORDER BY c.id")
    return Picture(
        version, now, tuple(records.agent(r) for r in agents), {r[0]: r[1] for r in live},
        {r["id"]: r["disconnected_at"] for r in agents if r["disconnected_at"] is not None},
        {r["id"]: r["last_assigned_at"] for r in agents if r["last_assigned_at"] is not None},
        tuple((records.conversation(r), r["queue_rank"]) for r in found))


async def drop_processes(db: Connection, where: str, arg: Any, now: float) -> list[int]:
    """Forget these processes and their connections; the agents left with none live."""
    affected = await db.fetch(
        "WITH dead AS (DELETE FROM server_processes WHERE " + where + " RETURNING id) "
        "DELETE FROM agent_connections WHERE process_id IN (SELECT id FROM dead) "
        "RETURNING agent_id", arg)
    return await gone_offline(db, sorted({r[0] for r in affected}), now)


async def gone_offline(db: Connection, agent_ids: list[int], now: float) -> list[int]:
    """Of these agents, those with no live connection left: their grace starts now."""
    offline = await db.fetch(
        "UPDATE agents SET disconnected_at = $1 WHERE id = ANY($2::bigint[]) AND NOT EXISTS "
        "(SELECT 1 FROM agent_connections c WHERE c.agent_id = agents.id) RETURNING id",
        now, agent_ids)
    return sorted(r[0] for r in offline)


class PostgresRouting:
    """One routing change's transaction on one pooled connection. Its writes' `on_commit`
    go through the store's Announcer once committed, in seq order with its messages."""

    def __init__(self, db: Connection, announcer: Announcer, version: int, now: float) -> None:
        self._db = db
        self._announcer = announcer
        self.version = version
        self.now = now
        self.written: list[tuple[int, Changed, OnCommit[Changed]]] = []

    async def picture(self) -> Picture:
        return await picture(self._db, self.version, self.now)

    async def connect(self, process_id: int, agent_id: int) -> None:
        await self._db.execute("INSERT INTO agent_connections (process_id, agent_id) "
                               "VALUES ($1, $2)", process_id, agent_id)
        await self._db.execute("UPDATE agents SET disconnected_at = NULL WHERE id = $1",
                               agent_id)

    async def disconnect(self, process_id: int, agent_id: int) -> bool:
        await self._db.execute("DELETE FROM agent_connections WHERE id = (SELECT min(id) FROM "
                               "agent_connections WHERE process_id = $1 AND agent_id = $2)",
                               process_id, agent_id)
        return bool(await gone_offline(self._db, [agent_id], self.now))

    async def set_presence(self, agent_id: int, status: str) -> None:
        await self._db.execute("UPDATE agents SET status = $1 WHERE id = $2", status, agent_id)

    async def reap(self, silent_for: float) -> list[int]:
        return await drop_processes(self._db, "heartbeat_at < $1", self.now - silent_for,
                                    self.now)

    async def end_process(self, process_id: int) -> list[int]:
        return await drop_processes(self._db, "id = $1", process_id, self.now)

    async def replace_process(self, process_id: int) -> list[int]:
        return await drop_processes(self._db, "name = (SELECT name FROM server_processes "
                                    "WHERE id = $1) AND id <> $1", process_id, self.now)

    async def assign(self, conversation_id: int, agent_id: int, note: str,
                     from_agent: int | None = None,
                     on_commit: OnCommit[Changed] = None) -> Changed:
        changed = await self._write(conversations.assign(
            self._db, conversation_id, agent_id, note, from_agent), on_commit)
        await self._db.execute("UPDATE agents SET last_assigned_at = $1 WHERE id = $2",
                               self.now, agent_id)
        return changed

    async def requeue(self, conversation_id: int, from_agent: int, rank: float, note: str,
                      on_commit: OnCommit[Changed] = None) -> Changed:
        return await self._write(conversations.requeue(
            self._db, conversation_id, from_agent, rank, note), on_commit)

    async def close_conversation(self, conversation_id: int, closed_by: str, note: str,
                                 on_commit: OnCommit[Changed] = None) -> Changed:
        return await self._write(conversations.close(
            self._db, conversation_id, closed_by, note), on_commit)

    async def _write(self, write: Awaitable[Changed], on_commit: OnCommit[Changed]) -> Changed:
        ticket = self._announcer.start()
        try:
            changed = await write
        except BaseException:
            self._announcer.failed(ticket)
            raise
        self.written.append((ticket, changed, on_commit))
        return changed

    def settle(self, committed: bool) -> None:
        for ticket, changed, on_commit in self.written:
            if committed:
                self._announcer.committed(ticket, changed.message, changed, on_commit)
            else:
                self._announcer.failed(ticket)


class RoutingMethods(Runs):
    @asynccontextmanager
    async def routing(self) -> AsyncIterator[PostgresRouting]:
        tx: PostgresRouting | None = None
        try:
            with storage_errors():
                async with self._pool.acquire() as db, db.transaction():
                    row = await db.fetchrow("UPDATE routing SET version = version + 1 "
                                            f"WHERE id = 1 RETURNING version, {NOW}")
                    tx = PostgresRouting(db, self._announcer, row[0], row[1])
                    yield tx
        except BaseException:
            if tx is not None:
                tx.settle(committed=False)
            raise
        tx.settle(committed=True)

    async def routing_picture(self) -> Picture:
        async def read(db: Connection) -> Picture:
            row = await db.fetchrow(f"SELECT version, {NOW} FROM routing WHERE id = 1")
            return await picture(db, row[0], row[1])
        return await self.read(read)

    async def register_process(self, name: str) -> int:
        row = await self._one(f"INSERT INTO server_processes (name, started_at, heartbeat_at) "
                              f"VALUES ($1, {NOW}, {NOW}) RETURNING id", name)
        assert row is not None
        return int(row[0])

    async def heartbeat(self, process_id: int) -> bool:
        """An UPDATE, or (reaped meanwhile) the row made again under its old id."""
        row = await self._one(
            f"WITH beat AS (UPDATE server_processes SET heartbeat_at = {NOW} WHERE id = $1 "
            "RETURNING id) INSERT INTO server_processes (id, name, started_at, heartbeat_at) "
            f"SELECT $1, '#' || $1, {NOW}, {NOW} WHERE NOT EXISTS (SELECT 1 FROM beat) "
            "RETURNING id",
            process_id)
        return row is None

    async def live_processes(self, within: float) -> list[int]:
        found = await self._all(f"SELECT id FROM server_processes WHERE heartbeat_at >= "
                                f"{NOW} - $1 ORDER BY id", within)
        return [r[0] for r in found]
