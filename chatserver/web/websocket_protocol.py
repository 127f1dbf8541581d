"""The WebSocket protocol under the two sockets: uvicorn's ASGI WebSocket, answered from the
request httptools has already parsed.

uvicorn's own protocol rebuilds the request's bytes for the `websockets` library, which
parses them again (a Request, a Headers object, a Response with a Date uvicorn then deletes)
and puts every frame through a generator: about 85 µs of a new socket's CPU. Here the HTTP
protocol hands over the parsed request (`HandingOverProtocol`), and frames are read and
written by `websocket_frames.py`. The ASGI side is uvicorn's: accept, close (a 403 before
accepting), the denial response extension, send, receive, disconnect, keepalive pings, the
close handshake, 1012 at shutdown, the same log lines.

Beyond uvicorn's:
- What one turn of the loop writes leaves in one system call (`coalescing.py`).
- A client that does not read what it is sent is not read either. uvicorn answers each ping
  with a pong at once, whatever is already waiting: a client that sent pings and never read
  grew the server by 200 MB in 9 s. While the send buffer is over its high-water mark nothing
  is read, of any frame type; its pongs unread, the keepalive closes it, and
  `CLOSE_LINGER` later it is gone.
- The `chatserver.frames` scope extension (this protocol) sends a text frame already encoded,
  past Starlette's and uvicorn's `send` (a dict and five coroutines, and the text decoded from
  orjson's bytes only to be encoded again).
- An idle connection holds little: a lean queue and flag (`lean_waits.py`), slots.
"""

from __future__ import annotations

import asyncio
import logging
import random
import urllib.parse
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, cast

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.utils import (
    ClientDisconnected,
    get_client_addr,
    get_path_with_query_string,
)
from uvicorn.server import ServerState

from chatserver.web.coalescing import CoalescingTransport
from chatserver.web.lean_waits import Flag, ReceiveQueue
from chatserver.web.websocket_frames import (
    BINARY,
    CLOSE,
    PING,
    PONG,
    TEXT,
    FrameReader,
    HandshakeRefused,
    ProtocolError,
    accept_value,
    close_frame,
    close_reason,
    frame,
    handshake_key,
    subprotocols,
)

# The scope extension through which the application sends encoded frames directly.
FRAMES = "chatserver.frames"
CLOSE_TIMEOUT = 10.0  # for the client's answer to our close frame


class HandingOverProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, handing a WebSocket handshake over as parsed."""

    def handle_websocket_upgrade(self) -> None:
        self.connections.discard(self)
        protocol = WebSocketProtocol(self.config, self.server_state)
        protocol.connection_made(self.transport)
        self.transport.set_protocol(protocol)
        protocol.handshake(self.scope, self.url)


def _response(status: int, phrase: bytes, headers: list[tuple[bytes, bytes]],
              body: bytes = b"") -> bytes:
    lines = [b"HTTP/1.1 %d %s" % (status, phrase)]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _plain(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    """A refusal: `headers`, then what the client needs of the rest."""
    names = {name.lower() for name, _ in headers}
    headers = headers + [(name, value) for name, value in (
        (b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"),
        (b"content-length", str(len(body)).encode())) if name not in names]
    try:
        phrase = HTTPStatus(status).phrase.encode()
    except ValueError:
        phrase = b""
    return _response(status, phrase, headers, body)


class WebSocketProtocol(asyncio.Protocol):
    """One WebSocket connection, from its handshake (as parsed) to its close."""

    __slots__ = (
        "app", "close_sent", "close_timer", "config", "connections",
        "default_headers", "denial", "disconnected", "handshake_complete", "key", "logger",
        "loop", "ping_payload", "ping_sent_at", "ping_timer", "pong_timer", "queue",
        "read_paused", "reader", "rtt", "scope", "tasks", "transport", "writable",
    )

    def __init__(self, config: Config, server_state: ServerState) -> None:
        self.config, self.app = config, config.loaded_app
        self.loop = asyncio.get_running_loop()
        self.logger = logging.getLogger("uvicorn.error")
        self.connections: set[Any] = server_state.connections  # uvicorn shuts each down
        self.tasks = server_state.tasks
        self.default_headers = server_state.default_headers
        self.transport: CoalescingTransport = None  # type: ignore[assignment]
        self.scope: dict[str, Any] | None = None
        self.key: bytes | None = None  # the handshake's, until answered
        self.reader = FrameReader(config.ws_max_size)
        self.queue: ReceiveQueue[dict[str, Any]] = ReceiveQueue()
        self.writable = Flag()
        self.writable.set()
        self.read_paused = False  # until the application takes what it was given
        self.handshake_complete = self.close_sent = self.disconnected = False
        self.denial: tuple[int, list[tuple[bytes, bytes]], bytes] | None = None
        self.close_timer: asyncio.TimerHandle | None = None
        self.ping_timer: asyncio.TimerHandle | None = None
        self.pong_timer: asyncio.TimerHandle | None = None
        self.ping_payload: bytes | None = None
        self.ping_sent_at = self.rtt = 0.0

    # --- the connection ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.connections.add(self)
        self.transport = CoalescingTransport(cast(asyncio.Transport, transport))

    def handshake(self, request: Mapping[str, Any], url: bytes) -> None:
        """Answer the opening handshake `request` (uvicorn's HTTP scope) for `url`."""
        headers = request["headers"]
        try:
            self.key = handshake_key(request["method"], request["http_version"], headers)
        except HandshakeRefused as refused:
            body = f"Failed to open a WebSocket connection: {refused.reason}.\n".encode()
            self._refuse(_plain(refused.status, list(refused.headers), body))
            return
        parsed = httptools.parse_url(url)
        raw_path, path = parsed.path, parsed.path.decode("ascii")
        root = self.config.root_path
        self.scope = {
            "type": "websocket",
            "asgi": {"version": self.config.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1", "scheme": "wss" if request["scheme"] == "https" else "ws",
            "server": request["server"], "client": request["client"],
            "root_path": root, "path": root + (urllib.parse.unquote(path) if "%" in path else path),
            "raw_path": root.encode("ascii") + raw_path,
            "query_string": parsed.query or b"", "headers": headers,
            "subprotocols": subprotocols(headers), "state": request["state"],
            "extensions": {"websocket.http.response": {}, FRAMES: self},
        }
        self.queue.put_nowait({"type": "websocket.connect"})
        task = self.loop.create_task(self.run_asgi())
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    def _refuse(self, response: bytes) -> None:
        self.handshake_complete = self.close_sent = True
        self.transport.write(response)
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        try:
            received = self.reader.feed(data)
        except ProtocolError as error:
            self._fail(error.code, error.reason)
            return
        for opcode, payload in received:
            if opcode in (TEXT, BINARY):
                self._deliver(opcode, payload)
            elif opcode == PING:
                self.transport.write(frame(PONG, payload))
            elif opcode == PONG:
                self._pong(payload)
            else:
                self._closed_by_client(payload)
            if self.transport.is_closing():
                return

    def _deliver(self, opcode: int, payload: bytes) -> None:
        if self.close_sent:  # past `websocket.close`: only the client's close matters now
            return
        if opcode == TEXT:
            message: dict[str, Any]
            try:
                message = {"type": "websocket.receive", "text": payload.decode()}
            except UnicodeDecodeError:
                self._fail(1007, "invalid UTF-8")
                return
        else:
            message = {"type": "websocket.receive", "bytes": payload}
        self.queue.put_nowait(message)
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def _closed_by_client(self, payload: bytes) -> None:
        if self.close_sent:  # the client's answer to ours: the closing handshake is done
            self._stop_close_timer()
            self.transport.close()
            return
        try:
            code, reason = close_reason(payload)
        except ProtocolError as error:
            self._fail(error.code, error.reason)
            return
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.close_sent = True
        self.transport.write(frame(CLOSE, payload))  # the client's own close, echoed
        self.transport.close()

    def _fail(self, code: int, reason: str) -> None:
        if not self.close_sent:
            self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
            self.close_sent = True
            self.transport.write(close_frame(code, reason))
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_keepalive()
        self._stop_close_timer()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": 1006})
        self.connections.discard(self)
        self.handshake_complete = self.disconnected = True
        self.writable.set()  # a send waiting for the buffer to drain: it never will now
        if self.scope is not None:  # it would keep this protocol alive in a cycle
            self.scope["extensions"].pop(FRAMES, None)
        if exc is None:
            self.transport.close()

    def eof_received(self) -> None:
        pass

    def pause_writing(self) -> None:
        self.writable.clear()
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.writable.set()
        if not self.read_paused:  # else the application resumes it when it has caught up
            self.transport.resume_reading()

    def shutdown(self) -> None:
        """The server is stopping: 1012, service restart (clients reconnect elsewhere)."""
        self._stop_keepalive()
        if not self.close_sent:
            if self.handshake_complete and self.denial is None:
                self.queue.put_nowait({"type": "websocket.disconnect", "code": 1012})
                self.transport.write(close_frame(1012))
                self.close_sent = True
            else:
                self._answer_500()
        self._stop_close_timer()
        self.transport.close()

    # --- keepalive ----------------------------------------------------------------------
    def _schedule_ping(self) -> None:
        interval = self.config.ws_ping_interval
        if interval:
            self.ping_timer = self.loop.call_later(max(0.0, interval - self.rtt), self._ping)

    def _ping(self) -> None:
        self.ping_timer = None
        if self.close_sent or self.transport.is_closing():
            return
        self.ping_payload = random.getrandbits(32).to_bytes(4, "big")
        self.ping_sent_at = self.loop.time()
        self.transport.write(frame(PING, self.ping_payload))
        if self.config.ws_ping_timeout is not None:
            self.pong_timer = self.loop.call_later(self.config.ws_ping_timeout, self._no_pong)
        else:
            self._schedule_ping()

    def _pong(self, payload: bytes) -> None:
        if self.ping_payload is None or payload != self.ping_payload:
            return  # unsolicited, or stale
        self.rtt = self.loop.time() - self.ping_sent_at
        self.ping_payload = None
        if self.pong_timer is not None:
            self.pong_timer.cancel()
            self.pong_timer = None
            self._schedule_ping()

    def _no_pong(self) -> None:
        self.pong_timer = self.ping_payload = None
        if not (self.close_sent or self.transport.is_closing()):
            self._fail(1011, "keepalive ping timeout")

    def _stop_keepalive(self) -> None:
        for timer in (self.ping_timer, self.pong_timer):
            if timer is not None:
                timer.cancel()
        self.ping_timer = self.pong_timer = self.ping_payload = None

    def _stop_close_timer(self) -> None:
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None

    # --- the application ---------------------------------------------------------------
    async def run_asgi(self) -> None:
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self._answer_500()
        else:
            if not self.handshake_complete:
                self.logger.error("ASGI callable returned without completing handshake.")
                self._answer_500()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self.close_timer is None:
            self.transport.close()

    def _answer_500(self) -> None:
        if not (self.handshake_complete or self.denial):
            self._refuse(_plain(500, list(self.default_headers), b"Internal Server Error"))

    def _log(self, outcome: str) -> None:
        assert self.scope is not None
        self.logger.info('%s - "WebSocket %s" %s', get_client_addr(self.scope),  # type: ignore[arg-type]
                         get_path_with_query_string(self.scope), outcome)  # type: ignore[arg-type]

    async def receive(self) -> dict[str, Any]:
        message = await self.queue.get()
        if self.read_paused and self.queue.empty():
            self.read_paused = False
            self.transport.resume_reading()
        if not self.writable.is_set():
            self.transport.pause_reading()
        return message

    async def send(self, message: Any) -> None:
        await self.writable.wait()
        kind = message["type"]
        if self.disconnected:
            raise ClientDisconnected()
        if self.denial is not None:
            self._send_denial_body(message)
        elif not self.handshake_complete:
            self._answer_handshake(message)
        elif kind == "websocket.send":
            if self.close_sent:
                raise ClientDisconnected()
            text = message.get("text")
            if text is not None:
                self.transport.write(frame(TEXT, text.encode()))
            else:
                self.transport.write(frame(BINARY, message["bytes"]))
        elif kind == "websocket.close":
            if not self.close_sent:  # closing twice is harmless
                code, reason = message.get("code", 1000), message.get("reason") or ""
                self.queue.put_nowait({"type": "websocket.disconnect", "code": code,
                                       "reason": reason})
                self.transport.write(close_frame(code, reason))
                self.close_sent = True
                if self.read_paused:  # to read the client's answer
                    self.read_paused = False
                    self.transport.resume_reading()
                self.close_timer = self.loop.call_later(CLOSE_TIMEOUT, self.transport.close)
        else:
            raise RuntimeError(f"Expected ASGI message 'websocket.send' or 'websocket.close', "
                               f"but got '{kind}'.")

    def _answer_handshake(self, message: Any) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            assert self.key is not None
            self._log("[accepted]")
            headers = [(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade"),
                       (b"Sec-WebSocket-Accept", accept_value(self.key)),
                       *self.default_headers, *message.get("headers", ())]
            if message.get("subprotocol"):
                headers.append((b"Sec-WebSocket-Protocol", message["subprotocol"].encode()))
            self.key = None
            if not self.transport.is_closing():
                self.handshake_complete = True
                self.transport.write(_response(101, b"Switching Protocols", headers))
                self._schedule_ping()
        elif kind == "websocket.close":
            self._log("403")
            self.queue.put_nowait({"type": "websocket.disconnect", "code": 1006})
            self._refuse(_plain(403, list(self.default_headers), b""))
        elif kind == "websocket.http.response.start":
            status = message["status"]
            if not 100 <= status < 600:
                raise RuntimeError(f"Invalid HTTP status code '{status}' in response.")
            self._log(str(status))
            self.denial = (status, list(message.get("headers", ())), b"")
            self.handshake_complete = True
        else:
            raise RuntimeError("Expected ASGI message 'websocket.accept', 'websocket.close' or "
                               f"'websocket.http.response.start' but got '{kind}'.")

    def _send_denial_body(self, message: Any) -> None:
        assert self.denial is not None
        if message["type"] != "websocket.http.response.body":
            raise RuntimeError("Expected ASGI message 'websocket.http.response.body' but got "
                               f"'{message['type']}'.")
        status, headers, body = self.denial
        body += message.get("body", b"")
        self.denial = (status, headers, body)
        if not message.get("more_body"):
            self.queue.put_nowait({"type": "websocket.disconnect", "code": 1006})
            self._refuse(_plain(status, list(self.default_headers) + headers, body))

    # --- the chatserver.frames extension ------------------------------------------------
    def send_promptly(self) -> None:
        """The first frame of each turn leaves at once (see CoalescingTransport)."""
        self.transport.prompt = True

    def can_send(self) -> bool:
        """False while writes are held back: then a sender waits its turn in ASGI's `send`."""
        return self.writable.is_set()

    def send_frame(self, data: bytes) -> None:
        """Send `data` (UTF-8 JSON) as one text frame now, or drop it when the connection is
        closing (what the client missed it gets on resume)."""
        if not (self.disconnected or self.close_sent):
            self.transport.write(frame(TEXT, data))
