"""Socket tests over real connections: uvicorn on a free port in a thread, `websockets` clients."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import orjson
import pytest
import uvicorn
import websockets

from chatserver.app import create_app
from chatserver.config import Settings
from chatserver.server import uvicorn_config
from chatserver.store import Store
from chatserver.web.auth import hash_password
from tests.backends import every_backend as every_backend  # these tests run on each
from tests.conftest import add_agent, free_port, on_store

T = TypeVar("T")


class InProcessServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings.with_(port=free_port())
        self.app = create_app(self.settings)
        self.server = uvicorn.Server(uvicorn_config(self.app, self.settings))
        self.server.config.log_level = "warning"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.settings.port}"
        self.ws = f"ws://127.0.0.1:{self.settings.port}"

    def start(self) -> InProcessServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    async def on_loop(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` on the server's own loop, where its services, store and bus live."""
        loop = self.server.servers[0].get_loop()
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work(), loop))

    def agent(self, email: str, name: str, **options: Any) -> str:
        """A new agent; returns their API token."""
        return add_agent(self.settings.database_url, email, name, **options)

    def staff(self, *people: tuple[str, str, str], password: str | None = None) -> list[str]:
        """Agents `(email, name, role)` added while the server runs, as `chatserver agents
        add` and `tokens create` do; one token each."""
        password_hash = hash_password(password) if password else None

        async def add(store: Store) -> list[str]:
            tokens = []
            for email, name, role in people:
                added = await store.add_agent(email, name, role, 3, password_hash)
                tokens.append(await store.create_token(added.id, "tests"))
            return tokens
        return self._with_store(add)

    def integration(self) -> str:
        """A token for the shop's systems, as `chatserver tokens create --integration`."""
        return self._with_store(lambda store: store.create_token(None, "shop"))

    def _with_store(self, work: Callable[[Store], Awaitable[T]]) -> T:
        return on_store(self.settings.database_url, work)

    def sign_in(self, email: str, password: str) -> str | None:
        """Sign in through the console's login form; returns the session cookie, if set."""
        return self.try_sign_in(email, password).cookies.get("chatserver_session")

    def try_sign_in(self, email: str, password: str) -> httpx.Response:
        """The console's login form, filled in and sent: the answer to it."""
        with httpx.Client(base_url=self.url) as client:
            page = client.get("/console/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf is not None
            return client.post("/console/login", data={"csrf": csrf.group(1), "email": email,
                                                       "password": password})

    def get(self, path: str, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(self.url + path, headers=headers, timeout=5)


@pytest.fixture
def serve(settings: Settings) -> Iterator[Callable[..., InProcessServer]]:
    """Start a server with these settings changed: `serve(grace_seconds=0.5)`."""
    started: list[InProcessServer] = []

    def start(**changes: Any) -> InProcessServer:
        server = InProcessServer(settings.with_(**changes)).start()
        started.append(server)
        return server
    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(serve: Callable[..., InProcessServer]) -> InProcessServer:
    return serve()


class Peer:
    """One socket as a test sees it: send frames, wait for the frames it expects.

    Frames skipped while waiting for another are kept, in order, for later `expect`s."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        _opened.append(self)
        self.pending: list[dict[str, Any]] = []
        self.seen: list[dict[str, Any]] = []

    async def send(self, type: str, **fields: Any) -> None:
        await self.ws.send(orjson.dumps({"type": type, **fields}).decode())

    async def _receive(self, timeout: float) -> dict[str, Any]:
        frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.seen.append(frame)
        return frame

    async def recv(self, timeout: float = 5) -> dict[str, Any]:
        """The next frame not yet consumed."""
        return self.pending.pop(0) if self.pending else await self._receive(timeout)

    async def expect(self, type: str, timeout: float = 5, **match: Any) -> dict[str, Any]:
        """The first unconsumed frame of `type` whose fields match."""
        def matches(frame: dict[str, Any]) -> bool:
            return frame["type"] == type and all(frame.get(k) == v for k, v in match.items())
        for frame in self.pending:
            if matches(frame):
                self.pending.remove(frame)
                return frame
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no {type} {match} frame; saw {self.seen[-10:]}")
            frame = await self._receive(left)
            if matches(frame):
                return frame
            self.pending.append(frame)

    async def quiet(self, within: float = 0.5) -> list[dict[str, Any]]:
        """Every unconsumed frame, and those that arrive within `within` seconds."""
        frames, self.pending = self.pending, []
        try:
            while True:
                frames.append(await self._receive(within))
        except TimeoutError:
            return frames

    async def close(self) -> None:
        await self.ws.close()


async def visitor(server: InProcessServer, token: str | None = None,
                  **hello: Any) -> tuple[Peer, dict[str, Any]]:
    """A visitor socket after hello; returns it with the welcome frame."""
    ws = await websockets.connect(server.ws + "/ws/visitor", max_size=None)
    peer = Peer(ws)
    await peer.send("hello", token=token, **hello)
    welcome = await peer.expect("welcome")
    return peer, welcome


async def agent(server: InProcessServer, token: str, available: bool = True) -> Peer:
    """An agent socket after welcome; available unless told otherwise."""
    ws = await websockets.connect(server.ws + "/ws/agent", max_size=None,
                                  additional_headers={"Authorization": f"Bearer {token}"})
    peer = Peer(ws)
    await peer.expect("welcome")
    if available:
        await peer.send("presence", status="available")
        await peer.send("ping")
        await peer.expect("pong")  # frames are handled in order: presence is in effect
    return peer


_opened: list[Peer] = []


@pytest.fixture(autouse=True)
async def _close_sockets() -> AsyncIterator[None]:
    """Every socket a test opened through `visitor` or `agent` is closed after it."""
    yield
    while _opened:
        await _opened.pop().close()
