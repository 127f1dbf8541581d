"""uvicorn's WebSocket protocol, writing what one turn of the event loop sends in one system
call.

uvicorn's sans-I/O protocol writes every frame to the socket at once: three system calls
per message (the `message` to the agent and to the visitor, the `ack`), and fifty for an
agent whose conversations had fifty messages in one commit. Here writes made in one turn of
the loop are joined and leave together at the start of the next, each connection's in the
order of its first write: a commit sends the news of its messages and the senders' `ack`s
in one turn (web/socket_session.py's `Ack`), so a visitor's echo and `ack` leave in one
system call, after the agent's copy. (It also counts a refused handshake as answered, which
uvicorn's protocol logs as an error.)

It also stops reading from a client that does not read what it is sent. uvicorn answers
each WebSocket ping with a pong at once, whatever is already waiting to be sent: a client
that sent pings and never read grew the server by 200 MB in 9 s. While the send buffer is
over its high-water mark nothing more is read, of any frame type, so what one connection
can make the server hold stays within the mark and one read's worth of answers. Its pongs
unread, the keepalive closes it, and `CLOSE_LINGER` later it is gone.

It offers the application a way past the ASGI layers for what it sends most, a text frame
already encoded (the `chatserver.frames` scope extension: this protocol): Starlette's and uvicorn's
`send` build a message dict and pass it through five coroutines, and the frame's text is
decoded from orjson's bytes only to be encoded again.

And it holds less per idle connection: a leaner queue and flag (`lean_waits.py`), and not
the handshake once it is answered.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

from chatserver.web.lean_waits import Flag, ReceiveQueue

# More than this waiting leaves at once, so that the transport's flow control sees it: one
# turn of the loop may read a client's socket many times over (32 reads of 256 KiB).
FLUSH_AT = 64 * 1024
# How long a closed connection may take to send what it still holds: a client that reads
# nothing would keep it (and its buffers) open for good.
CLOSE_LINGER = 10.0
# The scope extension through which the application sends encoded frames directly.
FRAMES = "chatserver.frames"


class CoalescingTransport:
    """A transport whose `write`s wait for the next turn of the loop (up to `FLUSH_AT` bytes);
    the rest is the real transport's (`close` sends what is waiting first). With `prompt`,
    the first write of a turn leaves at once and only the turn's later ones wait."""

    __slots__ = ("_transport", "_waiting", "_waiting_bytes", "_wrote", "prompt")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._waiting: list[bytes] = []
        self._waiting_bytes = 0
        self.prompt = False
        self._wrote = False  # (prompt) a write left at once this turn

    def write(self, data: bytes) -> None:
        if self.prompt and not self._wrote and not self._waiting:
            self._wrote = True
            asyncio.get_running_loop().call_soon(self._next_turn)
            self._transport.write(data)
            return
        if not self._waiting:
            asyncio.get_running_loop().call_soon(self._flush)
        self._waiting.append(data)
        self._waiting_bytes += len(data)
        if self._waiting_bytes > FLUSH_AT:
            self._flush()

    def _next_turn(self) -> None:
        self._wrote = False

    def _flush(self) -> None:
        waiting, self._waiting, self._waiting_bytes = self._waiting, [], 0
        if waiting and not self._transport.is_closing():
            self._transport.write(b"".join(waiting))

    def close(self) -> None:
        self._flush()
        self._transport.close()
        if self._transport.get_write_buffer_size():
            asyncio.get_running_loop().call_later(CLOSE_LINGER, self._transport.abort)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._waiting_bytes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = ReceiveQueue()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]
        self.writable.set()
        # The websockets library's own lines as each connection opens and closes name
        # neither address nor path (uvicorn's "[accepted]" line names them): under the
        # library's own logger, quiet unless configured, they no longer fill the log.
        self.conn.logger = logging.getLogger("websockets.server")

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none when the handshake was refused
        if scope is not None:
            scope["extensions"][FRAMES] = self

    def send_promptly(self) -> None:
        """The first frame of each turn leaves at once (see CoalescingTransport)."""
        cast(CoalescingTransport, self.transport).prompt = True

    def can_send(self) -> bool:
        """False while writes are held back: then a sender waits its turn in ASGI's `send`."""
        return self.writable.is_set()

    def send_frame(self, data: bytes) -> None:
        """Send `data` (UTF-8 JSON) as one text frame now, or drop it when the connection is
        closing (what the client missed it gets on resume)."""
        if self.disconnected or self.close_sent:
            return
        try:
            self.conn.send_text(data)
        except InvalidState:
            return
        self.transport.write(b"".join(self.conn.data_to_send()))

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        scope = getattr(self, "scope", None)
        if scope is not None:  # it would keep this protocol alive in a cycle
            scope["extensions"].pop(FRAMES, None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        coalescing = CoalescingTransport(cast(asyncio.Transport, transport))
        super().connection_made(cast(asyncio.Transport, coalescing))

    def pause_writing(self) -> None:
        super().pause_writing()
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        if not self.read_paused:  # else the application resumes it when it has caught up
            self.transport.resume_reading()

    async def receive(self) -> Any:
        message = await super().receive()  # which resumes reading once the queue is empty
        if not self.writable.is_set():
            self.transport.pause_reading()
        return message

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            # A refusal (401, 403) answers the handshake too; uvicorn's protocol does not
            # count it as one and would log an error for every refused socket.
            self.handshake_complete = True
        elif message["type"] == "websocket.accept":
            # The handshake's headers (2 KiB) are not needed again. websockets' parser keeps
            # the request in its generator's frame for the connection's life: empty it.
            self.request.headers.clear()
            self.request = self.response = None  # type: ignore[assignment]
