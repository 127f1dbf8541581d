"""What the visitor and agent sockets share: frame limits, the dispatch loop, the bus pump.

A connection runs two loops: one reads client frames and handles them, one forwards bus
events. Both send through `send_data`, each frame whole, so two frames never interleave:
straight to the connection where the server offers that (web/coalescing.py), else through
ASGI's `send`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, ClassVar

import orjson
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from chatserver.bus import Event, Subscription, SubscriptionOverflow
from chatserver.config import Settings
from chatserver.domain.clock import now
from chatserver.domain.errors import Refused
from chatserver.domain.frames import FrameError, Spec, parse_frame
from chatserver.domain.limits import TypingGate
from chatserver.service.errors import ChatError
from chatserver.store.base import unavailable
from chatserver.web.coalescing import SEND_FRAME

log = logging.getLogger(__name__)

CLOSE_POLICY = 1008  # hello_required
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013  # fell behind: reconnect and resume with last_seq
CLOSE_SIGNED_OUT = 4001  # the agent signed out, or was disabled: do not reconnect

# A frame type's handler: a plain function of the session and the frame. The tables are
# per class, not per connection: 10,000 sockets share one.
Handler = Callable[[Any, dict[str, Any]], Awaitable[None]]


class TooLarge(Exception):
    pass


class EndSession(Exception):
    """Raised by `forward`: send `event`, then close the connection with `code`."""

    def __init__(self, code: int, event: Event) -> None:
        super().__init__(code)
        self.code, self.event = code, event


async def refuse(websocket: WebSocket, status: int) -> None:
    """Refuse a handshake with an HTTP status (where the server can; else a plain 403)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(Response(status_code=status))
    else:
        await websocket.close(code=CLOSE_POLICY)


class SocketSession:
    spec: Spec

    def __init__(self, websocket: WebSocket, settings: Settings) -> None:
        self.ws = websocket
        self.settings = settings
        self.typing = TypingGate()
        self._send_frame: Callable[[bytes], bool] | None = websocket.scope.get(
            "extensions", {}).get(SEND_FRAME)

    # --- sending --------------------------------------------------------------------
    async def send(self, frame: dict[str, Any]) -> None:
        await self.send_data(orjson.dumps(frame))

    async def send_data(self, data: bytes) -> None:
        """Send a frame's JSON, or drop it if the client has gone: what it missed it gets on
        resume, and the frames it sent before leaving are still handled."""
        if self._send_frame is not None and self._send_frame(data):
            return
        with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected, OSError):
            await self.ws.send_text(data.decode())

    async def error(self, code: str, message: str, client_id: str | None = None) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if client_id is not None:
            frame["client_id"] = client_id
        await self.send(frame)

    # --- receiving ------------------------------------------------------------------
    async def receive(self) -> str | bytes:
        """The next frame's data; raises WebSocketDisconnect, or TooLarge past the limit."""
        try:
            message = await self.ws.receive()
        except WebSocketDisconnected:  # we closed it (1009, 1013): nothing more to read
            raise WebSocketDisconnect(1000) from None
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        data: str | bytes = message.get("text") or message.get("bytes") or b""
        limit = self.settings.max_frame_bytes
        size = len(data) if isinstance(data, bytes) or len(data) * 4 <= limit else len(
            data.encode())
        if size > limit:
            raise TooLarge()
        return data

    async def parse(self, data: str | bytes) -> tuple[str, dict[str, Any]] | None:
        """The frame, checked; None after telling the client what was wrong with it."""
        try:
            return parse_frame(data, self.spec, self.settings.max_text_chars)
        except FrameError as error:
            await self.error(error.code, error.message, error.client_id)
            return None

    async def serve(self, subscription: Subscription) -> None:
        """Handle frames until the client goes; events flow meanwhile."""
        pump = asyncio.get_running_loop().create_task(self._pump(subscription))
        try:
            while not pump.done():
                parsed = await self.parse(await self.receive())
                if parsed is not None:
                    await self.dispatch(*parsed)
        except TooLarge:
            await self.close(CLOSE_TOO_BIG)
        except WebSocketDisconnect:
            pass
        finally:
            pump.cancel()
            subscription.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump

    async def dispatch(self, kind: str, frame: dict[str, Any]) -> None:
        try:
            await self.handlers[kind](self, frame)
        except (ChatError, Refused) as error:
            await self.error(error.code, error.message, frame.get("client_id"))
        except WebSocketDisconnect:
            raise
        except Exception as error:  # said, and the socket carries on
            code, message = "unavailable", unavailable(error)
            if message is not None:
                log.warning("storage refused a %s frame: %s", kind, error)
            else:  # a fault of ours
                log.exception("handling a %s frame failed", kind)
                code, message = "internal_error", "that failed on our side; try again"
            await self.error(code, message, frame.get("client_id"))

    def typing_news(self, about: Hashable, active: bool) -> bool:
        """Whether a `typing` frame is worth passing on (10,000 of them once reached the
        other side in 3 s)."""
        return self.typing.admit(about, active, now())

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.send({"type": "pong"})

    async def _pump(self, subscription: Subscription) -> None:
        try:
            while True:
                event = await subscription.get()
                if self.forward(event):
                    await self.send_data(event.data)
        except SubscriptionOverflow:
            await self.close(CLOSE_TRY_AGAIN)
        except EndSession as end:
            await self.send_data(end.event.data)
            await self.close(end.code)

    def forward(self, event: Event) -> bool:
        """Whether this connection should send `event` (and note what it has sent)."""
        return True

    async def close(self, code: int) -> None:
        with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected, OSError):
            await self.ws.close(code=code)

    handlers: ClassVar[dict[str, Handler]] = {"ping": on_ping}
