"""PostgreSQL and Redis for the `pg1` and `pg2` targets: a fresh schema and key prefix per
run (dropped and deleted at the end), and the CPU their processes spend on the target.

The services are the machine's own (PostgreSQL at 127.0.0.1:5432, database `test`, user
postgres; Redis at 127.0.0.1:6379, database 0), not pinned, and may serve other programs
too. So the CPU is counted per kind of process, from /proc/PID/stat:

- `postgres`: the backends serving the chat server's own connections, found by their
  command line (`postgres: ... 127.0.0.1(PORT) ...`) whose PORT is the local port of one of
  the server processes' sockets to 5432 (read from /proc/PID/fd and /proc/net/tcp);
- `pg_background`: the postgres processes that are nobody's backend (WAL writer,
  checkpointer, background writer...), shared with whatever else uses the cluster;
- `redis`: the redis-server process, shared likewise.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable
from typing import Any

from bench.meter import Source, process_cpu_seconds

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_PORT = 5432
REDIS_URL = "redis://127.0.0.1:6379/0"
BACKEND = re.compile(r"^postgres: .*\((\d+)\)")  # a client's backend: its peer's port


class Services:
    """This run's schema and bus prefix, and the CPU sources of their processes."""

    def __init__(self) -> None:
        name = f"bench_{secrets.token_hex(4)}"
        self.schema = name
        self.database_url = f"{PG_URL}?schema={name}"
        self.bus_url = f"{REDIS_URL}?prefix={name}:"

    async def drop(self) -> None:
        """The schema with all its tables, and the keys under the prefix (rate limits)."""
        import asyncpg  # the `postgres` extra; only these targets need it
        import redis.asyncio as aioredis  # the `redis` extra

        db = await asyncpg.connect(PG_URL)
        try:
            await db.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        finally:
            await db.close()
        client = aioredis.Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=f"{self.schema}:*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()

    def sources(self, server_pids: Callable[[], list[int]]) -> dict[str, Source]:
        def backends() -> dict[int, float]:
            ports = local_ports_to(PG_PORT, server_pids())
            return {pid: cpu for pid, cpu, port in postgres_processes() if port in ports}

        def background() -> dict[int, float]:
            return {pid: cpu for pid, cpu, port in postgres_processes() if port is None}

        return {"postgres": backends, "pg_background": background,
                "redis": lambda: named_processes("redis-server")}


def processes() -> list[tuple[int, str, str]]:
    """(pid, comm, command line) of every process still there."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/comm") as comm, \
                        open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                found.append((int(entry), comm.read().strip(),
                              cmdline.read().replace(b"\0", b" ").decode(errors="replace")))
    return found


def cpu_of(pids: list[int]) -> dict[int, float]:
    cpu = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            cpu[pid] = process_cpu_seconds(pid)
    return cpu


def named_processes(comm: str) -> dict[int, float]:
    return cpu_of([pid for pid, name, _ in processes() if name == comm])


def postgres_processes() -> list[tuple[int, float, int | None]]:
    """(pid, CPU seconds, its client's port or None) of every postgres process."""
    found = []
    for pid, name, cmdline in processes():
        if name == "postgres":
            match = BACKEND.match(cmdline)
            cpu = cpu_of([pid])
            if pid in cpu:
                found.append((pid, cpu[pid], int(match.group(1)) if match else None))
    return found


def local_ports_to(port: int, pids: list[int]) -> set[int]:
    """The local ports of the processes' TCP connections to `port` (on any address)."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:["):
                        inodes.add(int(link[8:-1]))
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local, remote, inode = fields[1], fields[2], int(fields[9])
                if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == port:
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


async def describe() -> dict[str, Any]:
    """The services' versions and the settings that bear on the figures."""
    import asyncpg
    import redis.asyncio as aioredis

    db = await asyncpg.connect(PG_URL)
    try:
        settings = {name: await db.fetchval(f"SHOW {name}") for name in (
            "server_version", "synchronous_commit", "fsync", "wal_sync_method",
            "shared_buffers", "max_connections")}
    finally:
        await db.close()
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        info = await client.info("server")
    finally:
        await client.aclose()
    return {"postgresql": settings, "redis_version": info.get("redis_version")}
