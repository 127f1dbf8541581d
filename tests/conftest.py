"""Shared fixtures: settings on a fresh database, agents and tokens, a real server process."""

from __future__ import annotations

import asyncio
import email
import email.policy
import functools
import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import httpx._transports.default as httpx_transport
import pytest

from chatserver.config import Settings
from chatserver.store import Store, open_store
from chatserver.web.auth import hash_password
from tests.backends import Backend, sqlite_memory

# A port asked of the kernel (bind to 0) can be handed to another test's client or server
# before ours binds it again: each pytest-xdist worker takes its ports from a range of its
# own instead, below the kernel's ephemeral range (32768 and up: outgoing connections' ports).
PORTS_PER_WORKER = 1000
_next_port = itertools.count()


def free_port() -> int:
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    first = 20000 + worker * PORTS_PER_WORKER
    for _ in range(PORTS_PER_WORKER):
        port = first + next(_next_port) % PORTS_PER_WORKER
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # in use (or lingering): the next one
                continue
        return port
    raise RuntimeError(f"no free port in {first}-{first + PORTS_PER_WORKER - 1}")


T = TypeVar("T")

# httpx builds a TLS context for every client, reading every trusted certificate (about 35 ms);
# the tests make hundreds of clients that speak plain HTTP to local servers: they share one.
httpx_transport.create_ssl_context = functools.cache(httpx_transport.create_ssl_context)

T0 = 1_772_409_600.0  # 2026-03-02T00:00:00Z


@dataclass
class Clock:
    at: float = T0


@pytest.fixture
def store_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The store's clock, fixed: every conversation and message is stamped `.at` (T0 until
    a test moves it), in this process and in servers it runs in a thread."""
    from chatserver.store import clock
    fixed = Clock()
    monkeypatch.setattr(clock, "now", lambda: fixed.at)
    return fixed


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    """A SQLite file and the in-process bus; the service and socket suites (their conftests)
    run on every backend in SERVER_BACKENDS instead."""
    with sqlite_memory(tmp_path) as chosen:
        yield chosen


@pytest.fixture
def db_url(backend: Backend) -> str:
    return backend.database_url


@pytest.fixture
def settings(backend: Backend) -> Settings:
    return Settings(database_url=backend.database_url, bus_url=backend.bus_url,
                    allowed_origins=("*",), hello_timeout=2.0)


def chatserver(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `chatserver` command as a user would, in its own process."""
    return subprocess.run([sys.executable, "-m", "chatserver", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def on_store(db_url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    """`work(store)` on a store of its own, in a thread of its own: it works from sync tests,
    async tests and beside Playwright's loop alike."""
    async def run() -> T:
        store = await open_store(db_url)
        try:
            return await work(store)
        finally:
            await store.close()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def add_agent(db_url: str, email: str, name: str, role: str = "agent", capacity: int = 3,
              password: str | None = None) -> str:
    """Add an agent as `chatserver agents add` and `tokens create` do (in this process: the
    command itself is tested in tests/test_cli.py); returns a new API token for them."""
    password_hash = hash_password(password) if password is not None else None

    async def add(store: Store) -> str:
        added = await store.add_agent(email, name, role, capacity, password_hash)
        return await store.create_token(added.id, None)
    return on_store(db_url, add)


def token_for(db_url: str, email: str) -> str:
    """Another API token for the agent with this email."""
    async def create(store: Store) -> str:
        found = await store.agent_login(email)
        assert found is not None, email
        return await store.create_token(found[0].id, None)
    return on_store(db_url, create)


def integration_token(db_url: str) -> str:
    """A token for the shop's systems (they write the orders), as `chatserver tokens create
    --integration --label shop` makes it."""
    return on_store(db_url, lambda store: store.create_token(None, "shop"))


@dataclass
class LiveServer:
    url: str
    port: int
    db_url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(db_url: str, log: Path, *args: str, env: dict[str, str] | None = None,
                 command: str = "serve") -> LiveServer:
    """`chatserver serve` (or `demo`) as a real process on a free port, once it answers."""
    port = free_port()
    full_env = {**os.environ, "CHATSERVER_ALLOWED_ORIGINS": "*", **(env or {})}
    with log.open("ab") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "chatserver", command, "--port", str(port), "--db", db_url,
             *args], stdout=handle, stderr=subprocess.STDOUT, env=full_env)
    server = LiveServer(f"http://127.0.0.1:{port}", port, db_url, process, log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()}")
        try:
            if httpx.get(server.url + "/api/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"the server did not start: {log.read_text()}")


@pytest.fixture
def live_server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(db_url, tmp_path / "server.log")
    yield server
    server.stop()


class Inbox:
    """A real SMTP server on a free local port, keeping what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TOs) of each
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=support@shop.example"

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"

    def wait_for(self, count: int = 1, timeout: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} emails arrived, not {count}")
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    box.controller.start()
    yield box
    box.controller.stop()
