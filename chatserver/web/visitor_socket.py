"""`GET /ws/visitor`: the widget's socket."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from starlette.websockets import WebSocket, WebSocketDisconnect

from chatserver.bus import Event
from chatserver.config import Settings
from chatserver.domain.frames import VISITOR_FRAMES, FrameError, parse_frame
from chatserver.domain.models import Visitor
from chatserver.service.errors import ChatError
from chatserver.service.services import Services
from chatserver.service.visitor_chat import Identified
from chatserver.store.base import unavailable
from chatserver.web.origins import origin_allowed
from chatserver.web.services import services
from chatserver.web.socket_session import (
    CLOSE_ERASED,
    CLOSE_POLICY,
    CLOSE_TRY_AGAIN,
    Ack,
    EndSession,
    Handler,
    SocketSession,
    TooLarge,
    Verdict,
    refuse,
)


class VisitorSession(SocketSession):
    spec = VISITOR_FRAMES

    def __init__(self, websocket: WebSocket, settings: Settings, services: Services) -> None:
        super().__init__(websocket, settings)
        self.chat = services.visitor_chat
        self.site = services.site
        self.transcripts = services.transcripts
        self.visitor: Visitor | None = None
        self.sent_seq: dict[int, int] = {}  # conversation id -> highest seq sent

    async def run(self) -> None:
        hello = await self._hello()
        if hello is None:
            return
        who = await self._identify(hello)
        if who is None:
            return
        self.visitor = who.visitor
        # Subscribe before reading the snapshot: nothing committed in between is missed,
        # and what both carry is sent once (see `forward`).
        subscription = await self.chat.subscribe(who.visitor, self.offer)
        try:
            # A visitor made just now has no conversation: only their own message opens one
            conversation, messages = (None, []) if who.new else await self.chat.snapshot(
                who.visitor, hello["conversation_id"], hello["last_seq"])
            if conversation is not None:  # its messages, read after it, may go further
                self.sent_seq[conversation.id] = max(conversation.last_seq,
                                                     (messages[-1].seq or 0) if messages else 0)
            await self.send({
                "type": "welcome", "token": who.token, "visitor_id": who.visitor.id,
                "agents_online": self.chat.agents_online(),
                "conversation": self.chat.conversation_public(conversation)
                if conversation else None,
                "messages": [m.for_visitor(self.chat.link) for m in messages],
                "widget": self.site.widget_for_visitors(), "email_enabled": self.site.email_enabled,
            })
            if who.identity_error:  # after the welcome, which always answers a hello first
                await self.error("invalid_identity", "the identity signature does not match; "
                                 "you are chatting anonymously")
        except BaseException:
            subscription.close()
            raise
        await self.chat.connected(who.visitor)
        try:
            await self.serve(subscription)
        finally:
            await self.chat.disconnected(who.visitor)

    async def _identify(self, hello: dict[str, Any]) -> Identified | None:
        """Who said hello; None after telling them why not and closing the socket."""
        address = self.ws.client.host if self.ws.client else "unknown"
        try:
            return await self.chat.identify(hello, address)
        except ChatError as error:
            code, message, close_code = error.code, error.message, CLOSE_POLICY
        except Exception as error:  # storage full or busy: come back later
            reason = unavailable(error)
            if reason is None:
                raise
            code, message, close_code = "unavailable", reason, CLOSE_TRY_AGAIN
        await self.error(code, message)
        await self.close(close_code)
        return None

    async def _hello(self) -> dict[str, Any] | None:
        """The first frame must be a valid `hello`, in time; anything else ends the socket."""
        try:
            # a deadline on this task, not wait_for's task of its own for every socket
            async with asyncio.timeout(self.settings.hello_timeout or None):
                data = await self.receive()
        except TimeoutError:
            data = None
        except TooLarge:
            await self.close(1009)
            return None
        except WebSocketDisconnect:
            return None
        reason = "no hello arrived in time"
        if data is not None:
            try:
                kind, frame = parse_frame(data, self.spec, self.settings.max_text_chars)
                if kind == "hello":
                    return frame
                reason = f"got {kind} before hello"
            except FrameError as error:
                reason = error.message
        await self.error("hello_required", f"the first frame must be a valid hello ({reason})")
        await self.close(CLOSE_POLICY)
        return None

    def forward(self, event: Event) -> Verdict:
        if event.type == "erased":  # service/privacy.py: this visitor is no one any more
            raise EndSession(CLOSE_ERASED, event)
        if event.type != "message":
            return Verdict.SEND
        conversation_id, seq = event.frame["conversation_id"], event.frame["seq"]
        sent = self.sent_seq.get(conversation_id, 0)
        if seq <= sent:
            return Verdict.DROP
        if seq > sent + 1:
            return Verdict.GAP
        self.sent_seq[conversation_id] = seq
        return Verdict.SEND

    async def fill(self, event: Event) -> None:
        conversation_id = event.frame["conversation_id"]
        for message in await self.chat.messages_after(conversation_id,
                                                      self.sent_seq.get(conversation_id, 0)):
            await self.send({"type": "message", **message.for_visitor(self.chat.link)})
            self.sent_seq[conversation_id] = message.seq or 0

    @property
    def me(self) -> Visitor:
        assert self.visitor is not None
        return self.visitor

    async def on_message(self, frame: dict[str, Any]) -> None:
        ack = Ack(self, frame["client_id"])
        await ack.after(await self.chat.message(self.me, frame["client_id"], frame["text"],
                                                frame["attachment_id"], ack.at_commit))

    async def on_hello_again(self, frame: dict[str, Any]) -> None:
        raise ChatError("bad_request", "hello was already said on this socket")

    async def on_email_transcript(self, frame: dict[str, Any]) -> None:
        conversation_id, to = await self.transcripts.email(self.me, frame["email"])
        await self.send({"type": "emailed", "conversation_id": conversation_id, "email": to})

    async def on_typing(self, frame: dict[str, Any]) -> None:
        if self.typing_news(None, frame["active"]):  # about the current conversation
            await self.chat.typing(self.me, frame["active"])

    async def on_read(self, frame: dict[str, Any]) -> None:
        await self.chat.read(self.me, frame["seq"])

    async def on_rate(self, frame: dict[str, Any]) -> None:
        await self.chat.rate(self.me, frame["score"], frame["comment"])

    async def on_close(self, frame: dict[str, Any]) -> None:
        await self.chat.close(self.me)

    handlers: ClassVar[dict[str, Handler]] = {
        **SocketSession.handlers, "message": on_message, "typing": on_typing, "read": on_read,
        "rate": on_rate, "close": on_close, "hello": on_hello_again,
        "email_transcript": on_email_transcript,
    }


async def visitor_socket(websocket: WebSocket) -> None:
    found = services(websocket)
    if not origin_allowed(websocket.scope, found.site.allowed_origins()):
        await refuse(websocket, 403)
        return
    await websocket.accept()
    await VisitorSession(websocket, websocket.app.state.settings, found).run()
