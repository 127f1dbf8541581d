"""The load generator's parties: a client WebSocket, a visitor, an agent.

Each socket is the `websockets` library's sans-I/O client protocol without compression on
an asyncio transport; each frame is handled as it arrives, and only the frames a measurement
needs are parsed. A party talks to the server process its index picks (`Load.url_for`):
with several processes, visitors and agents alternate between them.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, cast

import orjson
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

if TYPE_CHECKING:
    from bench.loadgen import Load


def now_ns() -> int:
    return time.perf_counter_ns()


class Socket(asyncio.Protocol):
    """One client WebSocket: the `websockets` library's sans-I/O `ClientProtocol` (no
    extensions, so no compression) on an asyncio transport. Frames are handed to `on_text` as
    they are parsed, inside `data_received`: no task, queue or future per frame, so the
    generator spends its time on the protocol rather than on asyncio bookkeeping."""

    def __init__(self, url: str, headers: dict[str, str], owner: Visitor | Agent) -> None:
        self.protocol = ClientProtocol(parse_uri(url), max_size=None)
        self.request = self.protocol.connect()
        for name, value in headers.items():
            self.request.headers[name] = value
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.close_code: int | None = None
        self.closed = False

    @classmethod
    async def open(cls, url: str, owner: Visitor | Agent, headers: dict[str, str] | None = None,
                   timeout: float = 60) -> Socket:
        uri = parse_uri(url)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            _, sock = await loop.create_connection(lambda: cls(url, headers or {}, owner),
                                                   uri.host, uri.port)
            await sock.opened
        return sock

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.protocol.send_request(self.request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Response):
                if event.status_code == 101 and protocol.handshake_exc is None:
                    self.opened.set_result(None)
                else:
                    self.opened.set_exception(RuntimeError(
                        f"handshake refused: HTTP {event.status_code}"))
            elif not isinstance(event, Frame):
                continue
            elif event.opcode is Opcode.TEXT:
                self.owner.on_text(bytes(event.data).decode())
            elif event.opcode is Opcode.CLOSE:
                self.close_code = Close.parse(event.data).code if event.data else 1005
        self._flush()

    def send_text(self, text: str) -> None:
        if not self.closed:
            self.protocol.send_text(text.encode())
            self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost: {exc}"))
        elif not self.closed:  # the server closed it, not us
            self.owner.lost(self.close_code)
        self.closed = True

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class Visitor:
    __slots__ = ("conversation_id", "index", "load", "sock", "token", "visitor_id", "welcome")

    def __init__(self, load: Load, index: int) -> None:
        self.load = load
        self.index = index
        self.sock: Socket | None = None
        self.token: str | None = None
        self.visitor_id: str | None = None
        self.conversation_id: int | None = None
        self.welcome: asyncio.Future[dict[str, Any]] | None = None

    async def open(self) -> tuple[int, int]:
        """Connect, say hello (a new visitor), wait for welcome; returns the nanoseconds of
        the handshake and of hello -> welcome."""
        start = now_ns()
        self.welcome = asyncio.get_running_loop().create_future()
        self.sock = sock = await Socket.open(self.load.url_for(self.index) + "/ws/visitor", self)
        connected = now_ns()
        sock.send_text('{"type":"hello","token":null}')
        async with asyncio.timeout(60):
            frame = await self.welcome
        self.token, self.visitor_id = frame["token"], frame["visitor_id"]
        return connected - start, now_ns() - connected

    def on_text(self, raw: str) -> None:
        load = self.load
        if raw[:13] == '{"type":"ack"':
            follow = load.visitor_ack(self, orjson.loads(raw))
            if follow is not None:
                self.send(follow)
        elif raw[:15] == '{"type":"error"':
            frame = orjson.loads(raw)
            if self.welcome is not None and not self.welcome.done():
                self.welcome.set_exception(RuntimeError(f"hello refused: {frame}"))
            else:
                load.visitor_error(frame)
        elif raw[:17] == '{"type":"welcome"' and self.welcome is not None \
                and not self.welcome.done():
            self.welcome.set_result(orjson.loads(raw))

    def send(self, text: str) -> None:
        assert self.sock is not None
        if self.sock.closed:
            self.load.events["send on a closed visitor socket"] += 1
        self.sock.send_text(text)

    def lost(self, code: int | None) -> None:
        self.load.events[f"visitor socket closed by the server ({code})"] += 1

    @property
    def open_now(self) -> bool:
        return self.sock is not None and not self.sock.closed

    def abort(self) -> None:
        if self.sock is not None:
            self.sock.abort()


class Agent:
    __slots__ = ("assigned", "index", "load", "sock", "welcome")

    def __init__(self, load: Load, index: int) -> None:
        self.load = load
        self.index = index
        self.sock: Socket | None = None
        self.assigned = 0
        self.welcome: asyncio.Future[None] | None = None

    async def open(self, token: str) -> None:
        self.welcome = asyncio.get_running_loop().create_future()
        self.sock = await Socket.open(self.load.url_for(self.index) + "/ws/agent", self,
                                      {"Authorization": f"Bearer {token}"})
        async with asyncio.timeout(60):
            await self.welcome
        self.sock.send_text('{"type":"presence","status":"available"}')

    def on_text(self, raw: str) -> None:
        if raw[:17] == '{"type":"message"':
            self.load.agent_message(raw)
        elif raw[:18] == '{"type":"assigned"':
            self.assigned += 1
            self.load.assigned.add(orjson.loads(raw)["conversation"]["id"])
        elif raw[:17] == '{"type":"welcome"':
            if self.welcome is not None and not self.welcome.done():
                self.welcome.set_result(None)
        elif raw[:15] == '{"type":"error"':
            self.load.events[f"agent error {orjson.loads(raw).get('code')}"] += 1

    def lost(self, code: int | None) -> None:
        self.load.events[f"agent socket closed by the server ({code})"] += 1

    def abort(self) -> None:
        if self.sock is not None:
            self.sock.abort()
