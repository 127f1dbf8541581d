"""SqliteStore's routing across processes: the registry of server processes and their
agents' connections, and the routing transaction (Store.routing). The routing lock is the
`routing` row's version, raised first; SQLite's write lock already makes every routing
change wait for the one before. The database clock is the store's (store/clock.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from chatserver.store import clock as store_clock
from chatserver.store.sqlite import conversations, rows
from chatserver.store.sqlite.connection import Runs
from chatserver.store.sqlite.unavailable import for_caller
from chatserver.store.types import Changed, OnCommit, Picture

AGENT_TIMES = "SELECT id, disconnected_at, last_assigned_at FROM agents"


def picture(db: sqlite3.Connection, version: int, now: float) -> Picture:
    agents = db.execute(f"SELECT {rows.AGENT_COLUMNS} FROM agents ORDER BY id").fetchall()
    times = db.execute(AGENT_TIMES).fetchall()
    live = db.execute("SELECT agent_id, count(*) FROM agent_connections GROUP BY agent_id")
    found = db.execute(rows.CONVERSATION_SELECT + "WHERE c.status != 'closed' ORDER BY c.id")
    return Picture(
        version, now, tuple(rows.agent(r) for r in agents), {a: n for a, n in live},
        {r["id"]: r["disconnected_at"] for r in times if r["disconnected_at"] is not None},
        {r["id"]: r["last_assigned_at"] for r in times if r["last_assigned_at"] is not None},
        tuple((rows.conversation(r), r["queue_rank"]) for r in found.fetchall()))


def version(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT version FROM routing WHERE id = 1").fetchone()[0])


def gone_offline(db: sqlite3.Connection, agent_ids: set[int], now: float) -> list[int]:
    """Of these agents, those with no live connection left: their grace starts now."""
    offline = [a for a in sorted(agent_ids) if db.execute(
        "SELECT 1 FROM agent_connections WHERE agent_id = ?", (a,)).fetchone() is None]
    db.executemany("UPDATE agents SET disconnected_at = ? WHERE id = ?",
                   [(now, a) for a in offline])
    return offline


def drop_processes(db: sqlite3.Connection, where: str, args: tuple[Any, ...], now: float
                   ) -> list[int]:
    dead = [r[0] for r in db.execute(f"SELECT id FROM server_processes WHERE {where}", args)]
    marks = ",".join("?" * len(dead))
    affected = {r[0] for r in db.execute(
        f"SELECT agent_id FROM agent_connections WHERE process_id IN ({marks})", dead)}
    db.execute(f"DELETE FROM server_processes WHERE id IN ({marks})", dead)  # cascades
    return gone_offline(db, affected, now)


class SqliteRouting:
    """One routing change's transaction on the writer's connection (its batches wait)."""

    def __init__(self, db: sqlite3.Connection, version: int, now: float) -> None:
        self._db = db
        self.version = version
        self.now = now
        self.announcements: list[Callable[[], None]] = []

    async def picture(self) -> Picture:
        return picture(self._db, self.version, self.now)

    async def connect(self, process_id: int, agent_id: int) -> None:
        self._db.execute("INSERT INTO agent_connections (process_id, agent_id) VALUES (?, ?)",
                         (process_id, agent_id))
        self._db.execute("UPDATE agents SET disconnected_at = NULL WHERE id = ?", (agent_id,))

    async def disconnect(self, process_id: int, agent_id: int) -> bool:
        self._db.execute("DELETE FROM agent_connections WHERE id = (SELECT min(id) FROM "
                         "agent_connections WHERE process_id = ? AND agent_id = ?)",
                         (process_id, agent_id))
        return bool(gone_offline(self._db, {agent_id}, self.now))

    async def set_presence(self, agent_id: int, status: str) -> None:
        self._db.execute("UPDATE agents SET status = ? WHERE id = ?", (status, agent_id))

    async def reap(self, silent_for: float) -> list[int]:
        return drop_processes(self._db, "heartbeat_at < ?", (self.now - silent_for,), self.now)

    async def end_process(self, process_id: int) -> list[int]:
        return drop_processes(self._db, "id = ?", (process_id,), self.now)

    async def replace_process(self, process_id: int) -> list[int]:
        return drop_processes(self._db, "name = (SELECT name FROM server_processes WHERE "
                              "id = ?) AND id != ?", (process_id, process_id), self.now)

    async def assign(self, conversation_id: int, agent_id: int, note: str,
                     from_agent: int | None = None,
                     on_commit: OnCommit[Changed] = None) -> Changed:
        changed = conversations.assign(self._db, conversation_id, agent_id, note, from_agent)
        self._db.execute("UPDATE agents SET last_assigned_at = ? WHERE id = ?",
                         (self.now, agent_id))
        return self._announced(changed, on_commit)

    async def requeue(self, conversation_id: int, from_agent: int, rank: float, note: str,
                      on_commit: OnCommit[Changed] = None) -> Changed:
        return self._announced(conversations.requeue(
            self._db, conversation_id, from_agent, rank, note), on_commit)

    async def close_conversation(self, conversation_id: int, closed_by: str, note: str,
                                 on_commit: OnCommit[Changed] = None) -> Changed:
        return self._announced(conversations.close(
            self._db, conversation_id, closed_by, note), on_commit)

    def _announced(self, changed: Changed, on_commit: OnCommit[Changed]) -> Changed:
        if on_commit is not None:
            self.announcements.append(lambda: on_commit(changed))
        return changed


class RoutingMethods(Runs):
    @asynccontextmanager
    async def routing(self) -> AsyncIterator[SqliteRouting]:
        try:
            async with self._writer.own_transaction() as db:
                raised = int(db.execute("UPDATE routing SET version = version + 1 "
                                        "WHERE id = 1 RETURNING version").fetchone()[0])
                tx = SqliteRouting(db, raised, store_clock.now())
                yield tx
        except sqlite3.Error as error:
            raise for_caller(error) from error
        for announce in tx.announcements:
            announce()

    async def routing_picture(self) -> Picture:
        now = store_clock.now()
        return await self.read(lambda db: picture(db, version(db), now))

    async def register_process(self, name: str) -> int:
        now = store_clock.now()
        return await self._writer.submit(lambda db: int(db.execute(
            "INSERT INTO server_processes (name, started_at, heartbeat_at) VALUES (?, ?, ?) "
            "RETURNING id", (name, now, now)).fetchone()[0]))

    async def heartbeat(self, process_id: int) -> bool:
        now = store_clock.now()

        def beat(db: sqlite3.Connection) -> bool:
            if db.execute("UPDATE server_processes SET heartbeat_at = ? WHERE id = ?",
                          (now, process_id)).rowcount:
                return True
            db.execute("INSERT INTO server_processes (id, name, started_at, heartbeat_at) "
                       "VALUES (?, ?, ?, ?)", (process_id, f"#{process_id}", now, now))
            return False
        return await self._writer.submit(beat)

    async def live_processes(self, within: float) -> list[int]:
        found = await self._all("SELECT id FROM server_processes WHERE heartbeat_at >= ? "
                                "ORDER BY id", (store_clock.now() - within,))
        return [r[0] for r in found]
