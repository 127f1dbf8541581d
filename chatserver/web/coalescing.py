"""uvicorn's WebSocket protocol, writing what one turn of the event loop sends in one system
call.

uvicorn's sans-I/O protocol writes every frame to the socket at once: three system calls
per message (the `message` to the agent and to the visitor, the `ack`), and fifty for an
agent whose conversations had fifty messages in one commit. Here writes made in one turn of
the loop are joined and leave together at the start of the next. (It also counts a refused
handshake as answered, which uvicorn's protocol logs as an error.)
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class CoalescingTransport:
    """A transport whose `write`s wait for the end of the loop's turn; the rest is the
    real transport's (`close` sends what is waiting first)."""

    __slots__ = ("_transport", "_waiting")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._waiting: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._waiting:
            asyncio.get_running_loop().call_soon(self._flush)
        self._waiting.append(data)

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        if waiting and not self._transport.is_closing():
            self._transport.write(b"".join(waiting))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        coalescing = CoalescingTransport(cast(asyncio.Transport, transport))
        super().connection_made(cast(asyncio.Transport, coalescing))

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            # A refusal (401, 403) answers the handshake too; uvicorn's protocol does not
            # count it as one and would log an error for every refused socket.
            self.handshake_complete = True
