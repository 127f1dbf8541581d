"""What a target stored, read from its database: the SQLite file of `server` and the durable
floor, or the PostgreSQL schema of `pg1` and `pg2`. Every acknowledged message must be there
with the acknowledged conversation and seq; a sample is read the moment its `ack` arrives."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

STORED = "SELECT client_id, conversation_id, seq FROM messages WHERE client_id LIKE {}"
PROBE = "SELECT seq FROM messages WHERE sender_key = {} AND client_id = {}"


def compare(acked: dict[str, tuple[int, int]], rows: list[Any]) -> dict[str, Any]:
    stored = {cid: (conversation, seq) for cid, conversation, seq in rows}
    missing = sum(1 for cid in acked if cid not in stored)
    wrong = sum(1 for cid, place in acked.items() if cid in stored and stored[cid] != place)
    return {"acked": len(acked), "stored": len(stored), "acked_not_stored": missing,
            "acked_with_other_seq": wrong}


class SqliteView:
    """A read-only connection to a SQLite file (it sees every committed transaction)."""

    def __init__(self, db: Path) -> None:
        self.db = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)

    async def visitors(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM visitors").fetchone()[0])

    async def stored_acks(self, acked: dict[str, tuple[int, int]], prefix: str
                          ) -> dict[str, Any]:
        return compare(acked, self.db.execute(STORED.format("?"), (prefix + "%",)).fetchall())

    def probe(self, visitor_id: str, client_id: str, seq: int) -> bool:
        """Is this acknowledged message committed already? Asked as its `ack` arrives."""
        row = self.db.execute(PROBE.format("?", "?"),
                              (f"visitor:{visitor_id}", client_id)).fetchone()
        return row is not None and row[0] == seq

    async def close(self) -> None:
        self.db.close()


class PostgresView:
    """A few connections to the run's schema: the read-after-ack probes are asked while the
    load runs and answered asynchronously, several at once."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pool: Any = None

    async def open(self) -> PostgresView:
        import asyncpg  # the `postgres` extra

        from bench.services import PG_URL
        schema = self.url.split("?schema=", 1)[1]
        self.pool = await asyncpg.create_pool(PG_URL, min_size=4, max_size=4,
                                              server_settings={"search_path": schema})
        return self

    async def visitors(self) -> int:
        return int(await self.pool.fetchval("SELECT COUNT(*) FROM visitors"))

    async def stored_acks(self, acked: dict[str, tuple[int, int]], prefix: str
                          ) -> dict[str, Any]:
        return compare(acked, await self.pool.fetch(STORED.format("$1"), prefix + "%"))

    async def probe(self, visitor_id: str, client_id: str, seq: int) -> bool:
        row = await self.pool.fetchval(PROBE.format("$1", "$2"), f"visitor:{visitor_id}",
                                       client_id)
        return bool(row == seq)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
