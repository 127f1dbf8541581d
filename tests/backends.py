"""The backends the service and socket suites run on, each a database and a bus of a test's
own (a SQLite file and the in-process bus; a PostgreSQL schema and a Redis prefix, dropped
afterwards), and `query`: SQL run on whichever database a test has, as another process would.

CI runs PostgreSQL and Redis at these addresses (trust authentication); a test must fail, not
skip, without them."""

from __future__ import annotations

import asyncio
import re
import secrets
import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from chatserver.config import database_kind
from chatserver.store.postgres.connection import postgres_target
from chatserver.store.sqlite import sqlite_path
from tests.redis_urls import forget, redis_url

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"

T = TypeVar("T")


def postgres_url() -> str:
    """The test database, in a schema of its own (the store makes it): drop it afterwards."""
    return f"{POSTGRES}?schema=test_{secrets.token_hex(6)}"


async def drop_schema(url: str) -> None:
    schema = postgres_target(url).schema
    db = await asyncpg.connect(POSTGRES)
    try:
        await db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await db.close()


@dataclass(frozen=True)
class Backend:
    database_url: str
    bus_url: str


@contextmanager
def sqlite_memory(folder: Path) -> Iterator[Backend]:
    yield Backend(f"sqlite:///{folder / 'chat.db'}", "memory://")


@contextmanager
def postgres_redis(folder: Path) -> Iterator[Backend]:
    backend = Backend(postgres_url(), redis_url())
    try:
        yield backend
    finally:
        blocking(drop_schema(backend.database_url))
        blocking(forget(backend.bus_url))


# The next backend joins the service and socket suites here, and nowhere else.
SERVER_BACKENDS: dict[str, Callable[[Path], AbstractContextManager[Backend]]] = {
    "sqlite+memory": sqlite_memory,
    "postgres+redis": postgres_redis,
}


@pytest.fixture(params=list(SERVER_BACKENDS), name="backend")
def every_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The `backend` of a suite that runs on each (a conftest imports it): every test there
    runs on SQLite with the in-process bus, and on PostgreSQL with Redis."""
    with SERVER_BACKENDS[request.param](tmp_path) as chosen:
        yield chosen


def blocking(work: Coroutine[Any, Any, T]) -> T:
    """`work` run to its end from sync code, even code an event loop is running."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def query(db_url: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    """Read (or change) the database directly, as another process would. `sql` is written
    with `?` placeholders, and in the SQL both databases understand."""
    if database_kind(db_url) == "sqlite":
        db = sqlite3.connect(sqlite_path(db_url), isolation_level=None)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()
    return blocking(_postgres_query(db_url, sql, args))


async def _postgres_query(db_url: str, sql: str, args: tuple[object, ...]
                          ) -> list[tuple[object, ...]]:
    target = postgres_target(db_url)
    numbered = iter(range(1, len(args) + 1))
    sql = re.sub(r"\?", lambda _: f"${next(numbered)}", sql)
    db = await asyncpg.connect(target.dsn, server_settings={"search_path": target.schema or
                                                                "public"})
    try:
        return [tuple(row) for row in await db.fetch(sql, *args)]
    finally:
        await db.close()
