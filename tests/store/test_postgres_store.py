"""What is PostgreSQL's own: its URL, two servers migrating one new database at once, and a
database that cannot be reached (the Store suite covers the rest on both backends)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from chatserver.domain.clock import iso
from chatserver.domain.models import Author
from chatserver.store import StorageError, Store, open_store
from chatserver.store.postgres import PostgresStore, customers, migrations, postgres_target
from chatserver.store.postgres.migrations import MIGRATIONS
from tests.backends import POSTGRES
from tests.conftest import Clock
from tests.store.conftest import postgres_schema
from tests.store.test_commerce_store import ORDER


@pytest.fixture
async def schema_url(tmp_path: Path) -> AsyncIterator[str]:
    async with postgres_schema(tmp_path) as url:
        yield url


async def chat(store: Store, text: str) -> int:
    visitor, _ = await store.create_visitor({"name": "Vera"})
    posted = await store.post_visitor_message(Author("visitor", "Vera", visitor.id), "c1",
                                              text, 1.0)
    return posted.message.conversation_id


def test_the_url_names_the_database_and_may_name_a_schema() -> None:
    target = postgres_target("postgres://app:secret@db.internal:6432/chat?schema=tenant_1"
                             "&sslmode=require")
    assert target.schema == "tenant_1"
    assert target.dsn == "postgres://app:secret@db.internal:6432/chat?sslmode=require"
    assert postgres_target("postgresql://app@localhost/chat").schema is None


@pytest.mark.parametrize("url", [
    "postgresql://localhost",  # no database
    "mysql://app@localhost/chat",
    "postgresql://app@localhost/chat?schema=Tenant",  # quoted names are not taken
    "postgresql://app@localhost/chat?schema=a;DROP TABLE messages",
    "postgresql://app@localhost/chat?schema=a&schema=b",
])
async def test_a_url_that_is_not_a_postgres_database_and_schema_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"PostgreSQL URL|schema"):
        await PostgresStore.open(url)


async def test_two_stores_starting_at_once_on_a_new_schema_migrate_it_once(
        schema_url: str) -> None:
    first, second = await asyncio.gather(open_store(schema_url), open_store(schema_url))
    try:
        conversation_id = await chat(first, "hello from one server")
        seen = await second.messages(conversation_id)
        assert [m.text for m in seen] == ["hello from one server"]
    finally:
        await first.close()
        await second.close()
    db = await asyncpg.connect(POSTGRES, server_settings={
        "search_path": postgres_target(schema_url).schema or ""})
    try:
        assert await db.fetch("SELECT version FROM schema_version") == [(len(MIGRATIONS),)]
    finally:
        await db.close()


async def test_a_schema_newer_than_this_chatserver_is_refused_and_left_as_it_is(
        schema_url: str) -> None:
    await (await open_store(schema_url)).close()
    db = await asyncpg.connect(POSTGRES, server_settings={
        "search_path": postgres_target(schema_url).schema or ""})
    try:
        await db.execute("UPDATE schema_version SET version = $1", len(MIGRATIONS) + 1)
        with pytest.raises(RuntimeError, match="newer than this chatserver"):
            await open_store(schema_url)
        assert await db.fetchval("SELECT version FROM schema_version") == len(MIGRATIONS) + 1
    finally:
        await db.close()


async def test_a_chat_waiting_before_the_wait_was_kept_is_still_seen_waiting(
        schema_url: str, monkeypatch: pytest.MonkeyPatch, store_clock: Clock) -> None:
    step = next(n for n, script in enumerate(MIGRATIONS) if "unanswered_since" in script)
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:step])
    older = await open_store(schema_url)
    try:
        conversation_id = await chat(older, "still there?")
    finally:
        await older.close()
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS)
    store = await open_store(schema_url)
    try:
        [waiting] = await store.unanswered(iso(store_clock.at), 10)
        assert (waiting["id"], waiting["unanswered_since"]) == (conversation_id,
                                                                iso(store_clock.at))
    finally:
        await store.close()


async def test_each_schema_is_a_store_of_its_own(tmp_path: Path) -> None:
    async with postgres_schema(tmp_path) as one_url, postgres_schema(tmp_path) as other_url:
        one, other = await open_store(one_url), await open_store(other_url)
        try:
            conversation_id = await chat(one, "only here")
            assert await other.conversation(conversation_id) is None
            assert await other.open_conversations() == []
        finally:
            await one.close()
            await other.close()


async def test_stores_in_schemas_of_one_database_make_the_same_customer_without_waiting(
        tmp_path: Path) -> None:
    """One customer per email is made one at a time (a lock held to COMMIT), in each store:
    a store in another schema of the database does not wait for it."""
    async with postgres_schema(tmp_path) as one_url, postgres_schema(tmp_path) as other_url:
        one, other = await open_store(one_url), await open_store(other_url)
        target = postgres_target(one_url)
        making = await asyncpg.connect(target.dsn,
                                       server_settings={"search_path": str(target.schema)})
        try:
            async with making.transaction():  # the first store making Maya, not committed yet
                await customers.by_email(making, ORDER["email"], "Maya Lin")
                made = await asyncio.wait_for(other.upsert_order(ORDER), 5)
            assert made.change == "created"
            assert [c["email"] for c in await other.customers_by_email(ORDER["email"])] == [
                ORDER["email"]]
        finally:
            await making.close()
            await one.close()
            await other.close()


async def test_a_database_that_cannot_be_reached_is_unavailable_storage() -> None:
    with pytest.raises(StorageError) as refused:
        await open_store("postgresql://postgres@127.0.0.1:1/test")  # nothing listens on 1
    assert refused.value.unavailable is not None


async def test_connections_the_server_ended_are_replaced(schema_url: str) -> None:
    name = postgres_target(schema_url).schema
    store = await open_store(f"{schema_url}&application_name={name}")
    admin = await asyncpg.connect(POSTGRES)
    try:
        # waits (up to 10 s) until each has ended
        ended = await admin.fetch("SELECT pg_terminate_backend(pid, 10000) FROM "
                                  "pg_stat_activity WHERE application_name = $1", name)
        assert ended and all(r[0] for r in ended)
        conversation_id = await chat(store, "still here")
        assert [m.text for m in await store.messages(conversation_id)] == ["still here"]
    finally:
        await admin.close()
        await store.close()


class Link:
    """A TCP link to PostgreSQL that the test can cut, as a network or a server going away
    would: open connections drop and new ones are refused."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", 5432)
        self._writers += [writer, upstream_writer]
        await asyncio.gather(_copy(reader, upstream_writer), _copy(upstream_reader, writer))

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await self._server.wait_closed()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):  # the link was cut
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def test_a_database_gone_away_is_unavailable_storage(schema_url: str) -> None:
    link = Link()
    await link.open()
    store = await open_store(schema_url.replace(":5432/", f":{link.port}/"))
    try:
        await chat(store, "before")
        await link.cut()
        with pytest.raises(StorageError) as refused:
            await chat(store, "after")
        assert refused.value.unavailable is not None
    finally:
        await store.close()


async def test_acknowledging_before_durability_is_refused_at_start(schema_url: str) -> None:
    with pytest.raises(RuntimeError, match="synchronous_commit"):
        await open_store(f"{schema_url}&synchronous_commit=off")


async def test_a_chat_opened_without_a_rank_queues_by_the_databases_clock_not_the_process(
        schema_url: str, store_clock: Clock) -> None:
    store_clock.at = 1e9  # this process's clock says 2001
    store = await open_store(schema_url)
    try:
        visitor, _ = await store.create_visitor({"name": "Vera"})
        await store.post_visitor_message(Author("visitor", "Vera", visitor.id), "c1", "hi",
                                         None)
        [(_, rank)] = await store.open_conversations()
    finally:
        await store.close()
    db = await asyncpg.connect(POSTGRES)
    try:
        database_now = await db.fetchval("SELECT EXTRACT(EPOCH FROM clock_timestamp())")
    finally:
        await db.close()
    assert rank is not None and abs(float(database_now) - rank) < 60
