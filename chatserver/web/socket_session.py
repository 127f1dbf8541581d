"""What the visitor and agent sockets share: frame limits, the dispatch loop, the bus pump.

A connection runs two loops: one reads client frames and handles them, one forwards bus
events (or the bus hands an event to `offer`, which sends it at once when nothing waits
ahead of it). All send through `send_data`, each frame whole, so two frames never
interleave: straight to the connection where the server offers that (web/websocket_protocol.py),
else through ASGI's `send`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
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
from chatserver.store.types import Posted
from chatserver.web.websocket_protocol import FRAMES

log = logging.getLogger(__name__)

CLOSE_POLICY = 1008  # hello_required
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013  # fell behind: reconnect and resume with last_seq
CLOSE_SIGNED_OUT = 4001  # the agent signed out, or was disabled: do not reconnect
CLOSE_ERASED = 4002  # the visitor's data was erased: their token names no one now

# A frame type's handler: a plain function of the session and the frame. The tables are
# per class, not per connection: 10,000 sockets share one.
Handler = Callable[[Any, dict[str, Any]], Awaitable[None]]


class TooLarge(Exception):
    pass


class Verdict(enum.Enum):
    """What `forward` makes of an event."""

    SEND = "send"  # this connection's next news: send it (noted as sent)
    DROP = "drop"  # already sent, or not this connection's business
    GAP = "gap"  # ahead of what was sent: `fill` the gap from the store first (nothing noted)


class Ack:
    """A message's `ack`, sent at its commit beside the message's own news (both leave in one
    write, a turn sooner than the handler could send it), or after, where the connection
    could not take it then. The frame's `note_seq` is for agents."""

    def __init__(self, session: SocketSession, client_id: str, notes: bool = False) -> None:
        self.session, self.client_id, self.notes = session, client_id, notes
        self.sent = False

    def at_commit(self, posted: Posted) -> None:
        self.sent = self.session.send_at_once(orjson.dumps(self.frame(posted)))

    async def after(self, posted: Posted) -> None:
        if not self.sent:
            await self.session.send(self.frame(posted))

    def frame(self, posted: Posted) -> dict[str, Any]:
        message = posted.message
        frame = {"type": "ack", "client_id": self.client_id,
                 "conversation_id": message.conversation_id, "seq": message.seq}
        if self.notes:
            frame["note_seq"] = message.note_seq
        return frame


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
        # the connection itself, where the server offers it (web/websocket_protocol.py)
        self._frames: Any = websocket.scope.get("extensions", {}).get(FRAMES)
        self._slow_sends = 0  # sends waiting their turn in ASGI's `send`
        self._live = False  # serving: events may be sent as they are published
        self._filling = False  # the pump is sending a gap: later events wait behind it

    # --- sending --------------------------------------------------------------------
    async def send(self, frame: dict[str, Any]) -> None:
        await self.send_data(orjson.dumps(frame))

    async def send_data(self, data: bytes) -> None:
        """Send a frame's JSON, or drop it if the client has gone: what it missed it gets on
        resume, and the frames it sent before leaving are still handled."""
        if self.send_at_once(data):
            return
        self._slow_sends += 1
        try:
            with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected, OSError):
                await self.ws.send_text(data.decode())
        finally:
            self._slow_sends -= 1

    def send_at_once(self, data: bytes) -> bool:
        """Send a frame's JSON now, straight to the connection, as code that cannot wait
        must (a commit's callbacks); False when the connection would make it wait its turn."""
        if not self._sends_now():
            return False
        self._frames.send_frame(data)
        return True

    def _sends_now(self) -> bool:
        return self._frames is not None and not self._slow_sends and self._frames.can_send()

    def offer(self, event: Event) -> bool:
        """The bus's offer of an event as it is published (see `Bus.subscribe`): sent at
        once when nothing is ahead of it, saving the pump a turn of the loop."""
        if not self._live or self._filling or not self._sends_now():
            return False
        try:
            verdict = self.forward(event)
        except EndSession:
            return False  # the pump sends it and closes
        if verdict is Verdict.GAP:
            return False  # the pump reads the gap from the store, which takes an await
        if verdict is Verdict.SEND:
            self._frames.send_frame(event.data)
        return True

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
        self._live = True  # what waits in the subscription is still ahead of any offer
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
                verdict = self.forward(event)
                if verdict is Verdict.GAP:
                    verdict = await self._after_gap(event)
                if verdict is Verdict.SEND:
                    await self.send_data(event.data)
        except SubscriptionOverflow:
            await self.close(CLOSE_TRY_AGAIN)
        except EndSession as end:
            await self.send_data(end.event.data)
            await self.close(end.code)
        except Exception as error:  # the gap could not be read: the client resumes by seq
            if unavailable(error) is None:
                log.exception("forwarding an event failed")
            await self.close(CLOSE_TRY_AGAIN)

    async def _after_gap(self, event: Event) -> Verdict:
        self._filling = True
        try:
            await self.fill(event)
        finally:
            self._filling = False
        return self.forward(event)

    def forward(self, event: Event) -> Verdict:
        """Whether this connection should send `event`, noting what it sends. Messages are
        numbered, and their events may come out of order (several processes publish) or not
        at all (a process died): an event ahead of the next number is a GAP, said without
        noting anything, so that `offer` may decline it and the pump `fill` first."""
        return Verdict.SEND

    async def fill(self, event: Event) -> None:
        """Send what `event` is ahead of, read from the store (see `forward`)."""

    async def close(self, code: int) -> None:
        with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected, OSError):
            await self.ws.close(code=code)

    handlers: ClassVar[dict[str, Handler]] = {"ping": on_ping}
