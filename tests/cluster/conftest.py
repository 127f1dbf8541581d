"""Three `chatserver serve` processes on one PostgreSQL schema and one Redis prefix: one
server, as the contract's "Several servers" has it. Clients choose their process on purpose."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
import websockets

from tests.conftest import LiveServer, add_agent, start_server
from tests.redis_urls import redis_url
from tests.store.conftest import postgres_schema

PROCESSES = 3
PATIENCE = 15  # seconds: a guard against hanging, never part of what is checked


@dataclass
class Cluster:
    db_url: str
    bus_url: str
    folder: Path
    servers: list[LiveServer] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {"CHATSERVER_BUS_URL": self.bus_url, "CHATSERVER_VISITOR_MESSAGE_LIMIT": "0",
                "CHATSERVER_VISITOR_SESSION_LIMIT": "0"}

    async def start(self, count: int) -> None:
        """`count` processes started at once (they migrate the new schema together)."""
        started = await asyncio.gather(*(
            asyncio.to_thread(start_server, self.db_url, self.folder / f"server{n}.log",
                              env=self.env) for n in range(len(self.servers),
                                                           len(self.servers) + count)))
        self.servers.extend(started)

    def agent(self, email: str, name: str, capacity: int = 3, role: str = "agent") -> str:
        return add_agent(self.db_url, email, name, role=role, capacity=capacity)

    async def rows(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """Read the database as another process would."""
        schema = self.db_url.rpartition("?schema=")[2]
        db = await asyncpg.connect(self.db_url.partition("?")[0],
                                   server_settings={"search_path": schema})
        try:
            return list(await db.fetch(query, *args))
        finally:
            await db.close()

    def logs(self) -> str:
        return "\n".join(server.log.read_text() for server in self.servers)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with postgres_schema(tmp_path) as db_url:
        running = Cluster(db_url, redis_url(), tmp_path)
        try:
            await running.start(PROCESSES)
            yield running
        finally:
            for server in running.servers:
                server.stop()
        assert "Traceback" not in running.logs(), running.logs()


class Client:
    """One socket, and every frame it received, in order."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed, OSError):
            async for raw in self.ws:
                self.frames.append(orjson.loads(raw))
                self._arrived.set()
        self._arrived.set()

    async def send(self, kind: str, **fields: Any) -> None:
        await self.ws.send(orjson.dumps({"type": kind, **fields}).decode())

    async def until(self, test: Any, what: str = "a frame") -> dict[str, Any]:
        """The first frame (seen so far or still to come) that passes `test`."""
        async def wait() -> dict[str, Any]:
            while True:
                for frame in self.frames:
                    if test(frame):
                        return frame
                if self._reader.done():
                    raise AssertionError(f"closed ({self.ws.close_code}) before {what}")
                self._arrived.clear()
                await self._arrived.wait()
        return await asyncio.wait_for(wait(), PATIENCE)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if frame["type"] == kind]

    async def closed(self) -> int | None:
        await asyncio.wait_for(self._reader, PATIENCE)
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


async def visitor(server: LiveServer, token: str | None = None, **hello: Any) -> Client:
    client = Client(await websockets.connect(server.ws + "/ws/visitor", max_size=None))
    await client.send("hello", token=token, **hello)
    await client.until(lambda f: f["type"] == "welcome", "welcome")
    return client


async def agent(server: LiveServer, token: str, available: bool = True) -> Client:
    client = Client(await websockets.connect(
        server.ws + "/ws/agent", max_size=None,
        additional_headers={"Authorization": f"Bearer {token}"}))
    await client.until(lambda f: f["type"] == "welcome", "welcome")
    if available:
        await client.send("presence", status="available")
    return client
