"""Storage that cannot take a write (another process holds the lock past the busy timeout,
or the disk is full) refuses it as `unavailable`, saying which: an error frame on either
socket, which stays open, and a 503 with Retry-After from the API. Nothing acknowledged is
lost, and the same write goes through once storage is back.

The faults are made the SQLite way (a lock, a page limit), so these tests run on SQLite only;
the PostgreSQL store's faults are tested in tests/store/test_postgres_store.py."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.store import StorageError
from chatserver.store.sqlite import connection as sqlite_connection
from chatserver.store.sqlite import sqlite_path
from chatserver.web.http import storage_error
from tests.backends import Backend, query, sqlite_memory
from tests.web.conftest import InProcessServer, visitor
from tests.web.test_visitor_socket import chat_with_ann

BUSY = "the server's storage is busy; try again in a moment"
FULL = "the server's storage is full; try again later"


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    with sqlite_memory(tmp_path) as chosen:
        yield chosen


@pytest.fixture
def server(serve: Callable[..., InProcessServer],
           monkeypatch: pytest.MonkeyPatch) -> InProcessServer:
    monkeypatch.setattr(sqlite_connection, "BUSY_TIMEOUT_MS", 200)  # the lock is not let go
    return serve()


@pytest.fixture
def lock(server: InProcessServer) -> Iterator[sqlite3.Connection]:
    """Another process's connection; `BEGIN IMMEDIATE` on it takes the write lock."""
    other = sqlite3.connect(sqlite_path(server.settings.database_url), isolation_level=None)
    yield other
    other.close()


def on_server(server: InProcessServer, work: Callable[[sqlite3.Connection], Any]) -> None:
    """Run `work` as a write on the server's own store (its connection, its loop)."""
    loop = server.server.servers[0].get_loop()
    store = server.app.state.services.visitor_chat.store
    asyncio.run_coroutine_threadsafe(store.transaction(work), loop).result(10)


def stored_texts(server: InProcessServer) -> list[object]:
    return [t for (t,) in query(server.settings.database_url,
                                "SELECT text FROM messages WHERE author_role != 'system' "
                                "ORDER BY id")]


async def test_while_another_process_holds_the_lock_both_sockets_are_told_storage_is_busy(
        server: InProcessServer, lock: sqlite3.Connection) -> None:
    staff, peer, _, conversation_id = await chat_with_ann(server)
    lock.execute("BEGIN IMMEDIATE")
    await peer.send("message", client_id="v2", text="still there?")
    assert await peer.expect("error", client_id="v2") == {
        "type": "error", "code": "unavailable", "message": BUSY, "client_id": "v2"}
    await staff.send("message", conversation_id=conversation_id, client_id="a1", text="yes")
    assert (await staff.expect("error", client_id="a1"))["message"] == BUSY
    lock.execute("ROLLBACK")
    await peer.send("message", client_id="v2", text="still there?")  # the same sockets
    await peer.expect("ack", client_id="v2")
    await staff.send("message", conversation_id=conversation_id, client_id="a1", text="yes")
    await staff.expect("ack", client_id="a1")
    assert stored_texts(server) == ["hi", "still there?", "yes"]


async def test_a_visitor_saying_hello_while_storage_is_busy_is_told_to_come_back(
        server: InProcessServer, lock: sqlite3.Connection) -> None:
    lock.execute("BEGIN IMMEDIATE")
    ws = await websockets.connect(server.ws + "/ws/visitor")
    await ws.send('{"type": "hello", "token": null}')
    assert orjson.loads(await ws.recv()) == {"type": "error", "code": "unavailable",
                                             "message": BUSY}
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013  # try again
    lock.execute("ROLLBACK")
    _, welcome = await visitor(server)
    assert welcome["token"]  # now a new visitor is stored


async def test_when_the_disk_is_full_a_message_is_refused_as_full_and_goes_through_later(
        server: InProcessServer) -> None:
    _, peer, _, _ = await chat_with_ann(server)
    on_server(server, lambda db: db.execute(
        f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}"))
    long_text = "é" * 4000  # 8,000 bytes: new pages, which there is no room for
    await peer.send("message", client_id="v2", text=long_text)
    assert (await peer.expect("error", client_id="v2"))["message"] == FULL
    await peer.send("ping")
    await peer.expect("pong")  # the socket carries on
    on_server(server, lambda db: db.execute("PRAGMA max_page_count = 1073741823"))
    await peer.send("message", client_id="v2", text=long_text)
    await peer.expect("ack", client_id="v2")
    assert stored_texts(server) == ["hi", long_text]


def test_the_api_answers_503_with_retry_after_while_storage_is_busy(
        server: InProcessServer, lock: sqlite3.Connection) -> None:
    [token] = server.staff(("ada@example.com", "Ada", "admin"))

    def add_canned() -> httpx.Response:
        return httpx.post(server.url + "/api/canned", timeout=10,
                          json={"shortcut": "hours", "text": "We answer 9 to 5."},
                          headers={"Authorization": f"Bearer {token}"})
    lock.execute("BEGIN IMMEDIATE")
    refused = add_canned()
    lock.execute("ROLLBACK")
    assert refused.status_code == 503, refused.text
    assert refused.json() == {"error": {"code": "unavailable", "message": BUSY}}
    assert refused.headers["retry-after"] == "10"
    assert query(server.settings.database_url, "SELECT shortcut FROM canned_responses") == []
    assert add_canned().status_code == 201


async def test_any_other_storage_fault_is_a_500_in_the_error_shape_without_a_traceback(
) -> None:
    async def broken(request: Request) -> Response:
        raise StorageError("no such table: conversations")
    app = Starlette(routes=[Route("/api/broken", broken), Route("/console/broken", broken)],
                    exception_handlers={StorageError: storage_error})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        api = await client.get("/api/broken")
        page = await client.get("/console/broken")
    assert api.status_code == page.status_code == 500
    assert api.json() == {"error": {"code": "internal_error",
                                    "message": "that failed on our side; try again"}}
    assert page.text == "that failed on our side; try again"
    assert "retry-after" not in api.headers
