"""`GET /ws/agent`: the console's and integrations' socket."""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.websockets import WebSocket

from chatserver.bus import Event
from chatserver.config import Settings
from chatserver.domain.frames import AGENT_FRAMES
from chatserver.domain.models import Agent
from chatserver.service.services import Services
from chatserver.web.auth import SESSION_COOKIE, bearer_token
from chatserver.web.origins import origin_allowed
from chatserver.web.services import services
from chatserver.web.socket_session import (
    CLOSE_SIGNED_OUT,
    Ack,
    EndSession,
    Handler,
    SocketSession,
    Verdict,
    refuse,
)


class AgentSession(SocketSession):
    spec = AGENT_FRAMES

    def __init__(self, websocket: WebSocket, settings: Settings, services: Services,
                 agent: Agent, session_id: str | None) -> None:
        super().__init__(websocket, settings)
        self.agent_desk = services.agent_desk
        self.supervision = services.supervision
        self.agent = agent
        self.session_id = session_id  # the console session or ("token:<id>") the API token
        # conversation id -> [highest seq, highest note_seq] sent; events about other
        # conversations are not this connection's business (until `assigned`)
        self.sent: dict[int, list[int]] = {}
        if self._frames is not None:  # an agent waits for the visitor's words; what else a
            self._frames.send_promptly()  # turn brings them (a busy commit) leaves together

    async def run(self) -> None:
        subscription = await self.agent_desk.subscribe(self.agent, self.offer)
        try:
            conversations = await self.agent_desk.conversations(self.agent)
            for conversation in conversations:
                self._remember(conversation["id"], conversation["messages"])
            await self.send({"type": "welcome", "agent": self.agent.public(),
                             "conversations": conversations})
            # the queue as it stands; `team` follows, as connecting is news
            await self.send(await self.agent_desk.connected(self.agent))
        except BaseException:
            subscription.close()
            raise
        try:
            await self.serve(subscription)
        finally:
            await self.agent_desk.disconnected(self.agent)

    def _remember(self, conversation_id: int, messages: list[dict[str, Any]]) -> None:
        marks = self.sent.setdefault(conversation_id, [0, 0])
        for m in messages:
            marks[0] = max(marks[0], m.get("seq") or 0)
            marks[1] = max(marks[1], m.get("note_seq") or 0)

    def forward(self, event: Event) -> Verdict:
        frame = event.frame
        if event.type == "signed_out":
            if self._signed_out_by(frame):
                raise EndSession(CLOSE_SIGNED_OUT, event)
            return Verdict.DROP  # another session's news: this one stays signed in
        if event.type == "assigned":
            conversation = frame["conversation"]
            self.sent.pop(conversation["id"], None)
            self._remember(conversation["id"], conversation["messages"])
        elif event.type == "unassigned":
            self.sent.pop(frame["conversation_id"], None)
        elif event.type == "message":
            return self._numbered(frame)
        return Verdict.SEND

    def _numbered(self, frame: dict[str, Any]) -> Verdict:
        """A message or a note: sent in order of its number (seq or note_seq), once each."""
        marks = self.sent.get(frame["conversation_id"])
        if marks is None:
            return Verdict.DROP
        index, number = (1, frame["note_seq"]) if frame["private"] else (0, frame["seq"])
        if number <= marks[index]:
            return Verdict.DROP
        if number > marks[index] + 1:
            return Verdict.GAP
        marks[index] = number
        return Verdict.SEND

    async def fill(self, event: Event) -> None:
        conversation_id = event.frame["conversation_id"]
        marks = self.sent[conversation_id]  # a gap is only ever found in one it holds
        missed = await self.agent_desk.messages_after(conversation_id, marks[0], marks[1],
                                                      notes=event.frame["private"])
        for message in missed:
            index, number = (1, message.note_seq) if message.private else (0, message.seq)
            if number is not None and number > marks[index]:
                await self.send({"type": "message", **message.for_agent(self.agent_desk.link)})
                marks[index] = number

    def _signed_out_by(self, frame: dict[str, Any]) -> bool:
        return frame["session_id"] in (None, self.session_id) and \
            frame.get("kept") != self.session_id

    async def on_presence(self, frame: dict[str, Any]) -> None:
        self.agent = await self.agent_desk.presence(self.agent, frame["status"])

    async def on_message(self, frame: dict[str, Any]) -> None:
        ack = Ack(self, frame["client_id"], notes=True)
        await ack.after(await self.agent_desk.message(
            self.agent, frame["conversation_id"], frame["client_id"], frame["text"],
            frame["private"], frame["attachment_id"], ack.at_commit))

    async def on_typing(self, frame: dict[str, Any]) -> None:
        if self.typing_news((frame["conversation_id"], frame["private"]), frame["active"]):
            await self.agent_desk.typing(self.agent, frame["conversation_id"],
                                         frame["active"], frame["private"])

    async def on_read(self, frame: dict[str, Any]) -> None:
        await self.agent_desk.read(self.agent, frame["conversation_id"], frame["seq"])

    async def on_claim(self, frame: dict[str, Any]) -> None:
        await self.agent_desk.claim(self.agent, frame["conversation_id"])

    async def on_transfer(self, frame: dict[str, Any]) -> None:
        await self.agent_desk.transfer(self.agent, frame["conversation_id"], frame["to_agent_id"])

    async def on_close(self, frame: dict[str, Any]) -> None:
        await self.agent_desk.close(self.agent, frame["conversation_id"])

    async def on_escalate(self, frame: dict[str, Any]) -> None:
        await self.supervision.escalate(self.agent, frame["conversation_id"],
                                                     frame["note"])

    async def on_sync(self, frame: dict[str, Any]) -> None:
        messages = await self.agent_desk.history(self.agent, frame["conversation_id"],
                                                 frame["last_seq"])
        await self.send({"type": "history", "conversation_id": frame["conversation_id"],
                         "messages": [m.for_agent(self.agent_desk.link) for m in messages]})

    handlers: ClassVar[dict[str, Handler]] = {
        **SocketSession.handlers, "presence": on_presence, "message": on_message,
        "typing": on_typing, "read": on_read, "claim": on_claim, "transfer": on_transfer,
        "close": on_close, "sync": on_sync, "escalate": on_escalate,
    }


async def agent_socket(websocket: WebSocket) -> None:
    found = services(websocket)
    token = bearer_token(websocket.headers)
    session_id = None
    if token is not None:
        agent, session_id, integration = await found.agent_desk.by_token(token)
        if integration:
            await refuse(websocket, 403)  # the shop's systems take no chats
            return
    else:
        session = await websocket.app.state.sessions.find(websocket.cookies.get(SESSION_COOKIE))
        agent, session_id = (session.agent, session.id) if session else (None, None)
        if agent is not None and not origin_allowed(websocket.scope, ()):
            await refuse(websocket, 403)  # a cookie only counts from the console's own pages
            return
    if agent is None:
        await refuse(websocket, 401)
        return
    await websocket.accept()
    await AgentSession(websocket, websocket.app.state.settings, found, agent,
                       session_id).run()
