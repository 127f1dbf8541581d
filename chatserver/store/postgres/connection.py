"""The PostgreSQL store's URL, its pool of connections, and how its methods run: a write is
one transaction on a pooled connection (its `on_commit` called once COMMIT has returned), a
read one statement or one snapshot. PostgresStore (postgres/__init__.py) and its groups of
methods per concept are built on these.

URL: `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB` (or `postgres://`), with any libpq
parameter asyncpg knows (`?sslmode=require`), plus `?schema=NAME`: the store's tables live
in that schema (made if missing) instead of `public`, the `search_path` of every pooled
connection; one database can so hold several stores (a test's each).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import orjson

from chatserver.domain.models import Message
from chatserver.store.postgres.announcer import Announcer
from chatserver.store.postgres.unavailable import for_caller
from chatserver.store.types import NotAllowed, OnCommit

T = TypeVar("T")

SCHEMES = ("postgresql", "postgres")
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
POOL_SIZE = 10  # per process: PostgreSQL's max_connections must cover processes times this
CONNECT_TIMEOUT = 10.0  # seconds
# a write that lost a race (two first messages of one visitor, one new customer made twice,
# a deadlock) runs again this many times, and then sees what the winner committed
ATTEMPTS = 5
RETRIED = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError,
           asyncpg.SerializationError)

Connection = Any  # an asyncpg connection (pooled)
Record = Any  # an asyncpg Record: a mapping of column names


@dataclass(frozen=True)
class Target:
    dsn: str
    schema: str | None


def postgres_target(url: str) -> Target:
    """The DSN asyncpg connects to, and the schema named by `?schema=` (None: the default)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname or not parts.path.strip("/"):
        raise ValueError(f"not a PostgreSQL URL: {url!r} "
                         "(expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?schema=NAME])")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for name, value in query if name == "schema"]
    if len(schemas) > 1 or (schemas and not SCHEMA_NAME.fullmatch(schemas[0])):
        raise ValueError(f"the schema of {parts.hostname}{parts.path} must be one name of "
                         "lowercase letters, digits and _ (at most 63, not starting with a digit)")
    rest = urlencode([(name, value) for name, value in query if name != "schema"])
    return Target(urlunsplit(parts._replace(query=rest)), schemas[0] if schemas else None)


async def create_pool(target: Target) -> asyncpg.Pool:
    settings = {"search_path": target.schema} if target.schema else {}
    with storage_errors():
        pool = await asyncpg.create_pool(
            target.dsn, min_size=1, max_size=POOL_SIZE, timeout=CONNECT_TIMEOUT,
            server_settings=settings, init=_with_json, reset=_nothing_to_reset)
    assert pool is not None
    return pool


async def _nothing_to_reset(db: Connection) -> None:
    """In place of asyncpg's reset of every connection given back to the pool (a second
    round trip per message): the store leaves no session state behind, no session advisory
    lock, LISTEN, cursor or SET (the search_path is a startup setting). An open transaction
    is still rolled back by asyncpg before this runs."""


async def _with_json(db: Connection) -> None:
    for name in ("json", "jsonb"):
        await db.set_type_codec(name, schema="pg_catalog", format="text",
                                encoder=lambda value: orjson.dumps(value).decode(),
                                decoder=orjson.loads)


@contextmanager
def storage_errors() -> Iterator[None]:
    """The driver's errors inside, as the StorageErrors they are (for_caller)."""
    try:
        yield
    except Exception as error:
        failure = for_caller(error)
        if failure is error:
            raise
        raise failure from error


class Runs:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._announcer = Announcer()

    async def transaction(self, run: Callable[[Connection], Awaitable[T]],
                          on_commit: OnCommit[T] = None,
                          message_of: Callable[[T], Message | None] | None = None) -> T:
        """`run` in one transaction, run again (from the start) when it lost a race; its
        result is announced (`on_commit`) once COMMIT has returned, in seq order with the
        other writes of its conversation when `message_of` says which message it wrote."""
        async def atomic(db: Connection) -> T:
            async with db.transaction():
                return await run(db)
        return await self._attempts(atomic, on_commit, message_of)

    async def statement(self, sql: str, args: tuple[Any, ...], result: Callable[[Record], T],
                        on_commit: OnCommit[T] = None,
                        message_of: Callable[[T], Message | None] | None = None) -> T:
        """One statement (a server-side function's call) as its own transaction: one round
        trip, no BEGIN nor COMMIT; `result` makes its row the answer. The function's own
        refusals (RAISE EXCEPTION) are NotAllowed."""
        async def alone(db: Connection) -> T:
            try:
                return result(await db.fetchrow(sql, *args))
            except asyncpg.RaiseError as error:
                raise NotAllowed(error.message) from None
        return await self._attempts(alone, on_commit, message_of)

    async def _attempts(self, run: Callable[[Connection], Awaitable[T]],
                        on_commit: OnCommit[T],
                        message_of: Callable[[T], Message | None] | None) -> T:
        ticket = self._announcer.start()
        try:
            with storage_errors():
                for attempt in range(1, ATTEMPTS + 1):
                    try:
                        async with self._pool.acquire() as db:
                            done = await run(db)
                        break
                    except RETRIED:
                        if attempt == ATTEMPTS:
                            raise
        except BaseException:
            self._announcer.failed(ticket)
            raise
        self._announcer.committed(ticket, message_of(done) if message_of else None, done,
                                  on_commit)
        return done

    async def read(self, run: Callable[[Connection], Awaitable[T]]) -> T:
        """`run` (several reads) on one consistent snapshot."""
        with storage_errors():
            async with self._pool.acquire() as db, db.transaction(
                    isolation="repeatable_read", readonly=True):
                return await run(db)

    async def _one(self, sql: str, *args: Any) -> Record | None:
        with storage_errors():
            return await self._pool.fetchrow(sql, *args)

    async def _all(self, sql: str, *args: Any) -> list[Record]:
        with storage_errors():
            return list(await self._pool.fetch(sql, *args))

    async def _run(self, sql: str, *args: Any) -> str:
        """One statement in a transaction of its own; its status (`UPDATE 1`)."""
        with storage_errors():
            return str(await self._pool.execute(sql, *args))
