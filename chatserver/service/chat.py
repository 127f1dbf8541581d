"""The chat service: what visitors and agents can do, whichever socket or server they use.

The sockets parse frames and call these methods; the methods check the rules, commit through
the store and announce through the bus. A refused action raises `ChatError` with the wire
code and leaves nothing stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from chatserver.bus import Bus
from chatserver.config import Settings
from chatserver.domain import widget_settings
from chatserver.domain.clock import now
from chatserver.domain.frames import FrameError, recipient
from chatserver.domain.identity import verify_identity
from chatserver.domain.limits import SlidingWindow
from chatserver.domain.models import Agent, Author, Conversation, Message, Presence, Visitor
from chatserver.domain.routing import RoutingError
from chatserver.mail import Mailer
from chatserver.service.announcer import Announcer, conversation_card
from chatserver.service.desk import Desk
from chatserver.service.followup import FollowUp
from chatserver.store import Store
from chatserver.store.types import NotAllowed, Posted


class ChatError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Identified:
    """Who a visitor's `hello` turned out to be."""

    visitor: Visitor
    token: str
    identity_error: bool = False


class ChatService:
    def __init__(self, settings: Settings, store: Store, bus: Bus) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.announce = Announcer(bus)
        self.desk = Desk(settings, store, self.announce)
        self.followup = FollowUp(settings, store, Mailer(settings.smtp_url))
        self.widget = dict(widget_settings.DEFAULTS)
        self.extra_origins: list[str] = []  # allowed by an admin, beside ALLOWED_ORIGINS
        self._visitor_messages = SlidingWindow(settings.visitor_message_limit)
        self._new_visitors = SlidingWindow(settings.visitor_session_limit)
        self._transcripts_by_visitor = SlidingWindow(settings.transcript_email_limit)
        self._transcripts_to = SlidingWindow(settings.transcript_email_limit)

    async def start(self) -> None:
        self.extra_origins = orjson.loads(await self.store.setting("allowed_origins") or "[]")
        stored = await self.store.setting("widget")
        self.widget = widget_settings.updated({}, orjson.loads(stored) if stored else {})
        self.followup.title = self.widget["title"]
        await self.desk.start()

    async def stop(self) -> None:
        await self.followup.stop()
        await self.desk.stop()

    @property
    def email_enabled(self) -> bool:
        """Whether this server sends email (SMTP_URL is set): the widget offers it only then."""
        return self.followup.mailer.enabled

    def widget_for_visitors(self) -> dict[str, str]:
        return widget_settings.for_visitors(self.widget, self.email_enabled)

    def allowed_origins(self) -> tuple[str, ...] | None:
        """Where the widget may be embedded: ALLOWED_ORIGINS and what an admin added
        (None: only the server's own origin)."""
        allowed = (*(self.settings.allowed_origins or ()), *self.extra_origins)
        return allowed or None

    async def set_allowed_origins(self, origins: list[str]) -> None:
        await self.store.set_setting("allowed_origins", orjson.dumps(origins).decode())
        self.extra_origins = origins

    async def set_widget_settings(self, changes: dict[str, Any]) -> dict[str, str]:
        """An admin changes the widget; raises ChatError naming a bad field."""
        try:
            widget = widget_settings.updated(self.widget, changes)
        except FrameError as error:
            raise ChatError("bad_request", error.message) from None
        await self.store.set_setting("widget", orjson.dumps(widget).decode())
        self.widget = widget
        self.followup.title = widget["title"]
        return widget

    # --- visitors -----------------------------------------------------------------------
    async def identify(self, frame: dict[str, Any], address: str) -> Identified:
        """Who says `hello`: the token's visitor, or a new one; verified when the identity's
        signature holds (a bad one leaves the visitor anonymous, flagged in the result)."""
        token = frame["token"]
        visitor = await self.store.visitor_by_token(token) if token else None
        if visitor is None:  # no token, or one we never issued: a new visitor, never another's
            if not self._new_visitors.allow(address, now()):
                raise ChatError("rate_limited", "too many new chats from this address; "
                                "try again in a minute")
            visitor, token = await self.store.create_visitor(frame)
        else:
            visitor = await self.store.update_visitor(visitor, frame)
        identity = frame["identity"]
        if identity is None:
            return Identified(visitor, token)
        if not verify_identity(self.settings.identity_secret, identity, now()):
            return Identified(visitor, token, identity_error=True)
        name = identity.get("name")
        visitor = await self.store.verify_visitor(
            visitor, token, str(identity["user_id"]), str(identity["email"]),
            name if isinstance(name, str) else None)
        return Identified(visitor, token)

    async def snapshot(self, visitor: Visitor, conversation_id: int | None,
                       last_seq: int | None) -> tuple[Conversation | None, list[Message]]:
        """The visitor's current conversation and its messages: those after `last_seq` when
        `conversation_id` names it, else all of them."""
        conversation = await self.store.current_conversation(visitor.id)
        if conversation is None:
            return None, []
        resume = conversation_id == conversation.id and last_seq is not None
        return conversation, await self.store.messages(conversation.id,
                                                       last_seq if resume and last_seq else 0)

    def conversation_public(self, conversation: Conversation) -> dict[str, Any]:
        position = self.desk.queue_position(conversation.id)
        return {**conversation.public(position),
                "expected_wait_seconds": self.desk.expected_wait(position)}

    async def visitor_message(self, visitor: Visitor, client_id: str, text: str) -> Posted:
        """Store and announce a visitor's message. Only new messages count against the rate
        limit: a resent one is answered with its first `ack` whatever the rate."""
        author = Author("visitor", visitor.name or "Visitor", visitor.id)
        at = now()
        if not self._visitor_messages.allow(visitor.id, at):
            first = await self.store.message_by_client_id(author, client_id)
            if first is None:
                raise ChatError("rate_limited", "you are sending messages too fast; slow down")
            return Posted(first, duplicate=True)

        def at_commit(posted: Posted) -> None:
            if posted.opened is not None:  # as stored: verified since this socket said hello?
                self.desk.opened(posted.opened, posted.visitor or visitor)
            self._announce_posted(posted)
        try:
            posted = await self.store.post_visitor_message(author, client_id, text, at,
                                                           on_commit=at_commit)
        except BaseException:
            self._visitor_messages.undo(visitor.id, at)
            raise
        if posted.duplicate:
            self._visitor_messages.undo(visitor.id, at)
        return posted

    async def visitor_typing(self, visitor: Visitor, active: bool) -> None:
        conversation = await self._open_conversation(visitor)
        agent_id = self.desk.owner(conversation.id) if conversation else None
        if conversation is not None and agent_id is not None:
            self.announce.to_agent(agent_id, {
                "type": "typing", "conversation_id": conversation.id, "role": "visitor",
                "name": visitor.name or "Visitor", "active": active})

    async def visitor_read(self, visitor: Visitor, seq: int) -> None:
        conversation = await self.store.current_conversation(visitor.id)
        if conversation is None:
            raise ChatError("not_found", "there is no conversation to mark as read")
        await self._read(conversation.id, "visitor", seq, visitor.id)

    async def visitor_close(self, visitor: Visitor) -> None:
        conversation = await self._open_conversation(visitor)
        if conversation is None:
            raise ChatError("conflict", "there is no open conversation to close")
        await self._routing(self.desk.close(conversation.id,
                                            Author("visitor", visitor.name or "Visitor",
                                                   visitor.id)))

    async def email_transcript(self, visitor: Visitor, email: str | None) -> tuple[int, str]:
        """Email the visitor's current (or last) conversation to them; returns where to."""
        to = self._transcript_recipient(email or visitor.email)
        if not self.followup.mailer.enabled:
            raise ChatError("unavailable", "this server does not send email")
        conversation = await self.store.current_conversation(visitor.id)
        if conversation is None:
            raise ChatError("not_found", "there is no conversation to send")
        self._count_transcript(visitor, to)
        if not await self.followup.email_transcript(conversation.id, to):
            raise ChatError("unavailable", "the email could not be sent; try again later")
        return conversation.id, to

    @staticmethod
    def _transcript_recipient(email: str | None) -> str:
        """The one address a transcript goes to (given now, or typed at hello)."""
        if not email:
            raise ChatError("bad_request", "give an email address to send the transcript to")
        try:
            return recipient(email)
        except ValueError as reason:
            raise ChatError("bad_request",
                            f"the address to send the transcript to {reason}") from None

    def _count_transcript(self, visitor: Visitor, to: str) -> None:
        """A visitor mails few transcripts, and an address receives few, whoever asks."""
        at = now()
        if not self._transcripts_by_visitor.allow(visitor.id, at):
            raise ChatError("rate_limited", "too many transcripts emailed; try again later")
        if not self._transcripts_to.allow(to.lower(), at):
            self._transcripts_by_visitor.undo(visitor.id, at)
            raise ChatError("rate_limited", "too many transcripts emailed to that address; "
                            "try again later")

    async def rate(self, visitor: Visitor, score: int, comment: str | None) -> None:
        conversation = await self.store.latest_closed(visitor.id)
        if conversation is None:
            raise ChatError("not_found", "there is no closed conversation to rate")
        await self.store.rate(conversation.id, score, comment)
        self.announce.to_visitor(visitor.id, {"type": "rated", "conversation_id": conversation.id,
                                              "score": score})

    async def _open_conversation(self, visitor: Visitor) -> Conversation | None:
        conversation = await self.store.current_conversation(visitor.id)
        return conversation if conversation and conversation.status != "closed" else None

    # --- agents -------------------------------------------------------------------------
    async def agent_message(self, agent: Agent, conversation_id: int, client_id: str, text: str,
                            private: bool) -> Posted:
        author = Author("agent", agent.name, str(agent.id))
        owner = self.desk.owner(conversation_id)
        if owner != agent.id and not (private and await self.oversees(agent)):
            # a resend after the conversation closed or left them still gets its first ack
            first = await self.store.message_by_client_id(author, client_id)
            if first is None:
                raise ChatError("forbidden", "that conversation is not assigned to you")
            return Posted(first, duplicate=True)
        try:
            return await self.store.post_agent_message(
                conversation_id, author, client_id, text, private,
                on_commit=lambda p: self._agent_posted(p, agent.id))
        except NotAllowed as error:
            raise ChatError("not_found", str(error)) from None

    async def agent_typing(self, agent: Agent, conversation_id: int, active: bool,
                           private: bool) -> None:
        self._assigned(agent, conversation_id)
        visitor = self.desk.visitor_of.get(conversation_id)
        if not private and visitor is not None:
            self.announce.to_visitor(visitor.id, {
                "type": "typing", "conversation_id": conversation_id, "role": "agent",
                "name": agent.name, "active": active})

    async def agent_read(self, agent: Agent, conversation_id: int, seq: int) -> None:
        if self.desk.owner(conversation_id) != agent.id:
            conversation = await self.store.conversation(conversation_id)
            if conversation and conversation.status == "closed" and \
                    conversation.agent_id == agent.id:
                return  # a read mark crossing the close: nothing left to mark
        self._assigned(agent, conversation_id)
        visitor = self.desk.visitor_of.get(conversation_id)
        await self._read(conversation_id, "agent", seq, visitor.id if visitor else None)

    async def history(self, agent: Agent, conversation_id: int, last_seq: int) -> list[Message]:
        if self.desk.owner(conversation_id) != agent.id and not await self.oversees(agent):
            raise ChatError("forbidden", "that conversation is not assigned to you")
        messages = await self.store.messages(conversation_id, last_seq, notes=True)
        if not messages and await self.store.conversation(conversation_id) is None:
            raise ChatError("not_found", f"no conversation {conversation_id}")
        return messages

    async def oversees(self, agent: Agent) -> bool:
        """Whether `agent` may act in others' conversations, by their role as stored now: a
        socket opened before a demotion (made here, by another process or the command line)
        keeps no old powers. Read only for those acts, not for an agent's own chats."""
        current = await self.store.agent(agent.id)
        return current is not None and not current.disabled and current.can_oversee

    async def end_sessions(self, agent_id: int, session_id: str | None = None,
                           kept: str | None = None) -> None:
        """Sign an agent out of one console session (None: everywhere but the session `kept`,
        API sockets too); the sockets that came from them close."""
        await self.store.end_sessions(agent_id, session_id, kept)
        self.announce.to_agent(agent_id, {"type": "signed_out", "session_id": session_id,
                                          "kept": kept})

    async def presence(self, agent: Agent, status: Presence) -> Agent:
        return await self.desk.set_presence(agent, status)

    async def claim(self, agent: Agent, conversation_id: int) -> None:
        await self._routing(self.desk.claim(conversation_id, agent))

    async def transfer(self, agent: Agent, conversation_id: int, to_agent_id: int | None) -> None:
        await self._routing(self.desk.transfer(conversation_id, agent, to_agent_id))

    async def agent_close(self, agent: Agent, conversation_id: int) -> None:
        self._assigned(agent, conversation_id)
        await self._routing(self.desk.close(conversation_id,
                                            Author("agent", agent.name, str(agent.id))))

    async def agent_conversations(self, agent: Agent) -> list[dict[str, Any]]:
        """The agent's active conversations with messages and notes, for `welcome`."""
        return [conversation_card(conversation, self.desk.visitor_of.get(conversation.id),
                                  await self.store.messages(conversation.id, 0, notes=True))
                for conversation in await self.store.agent_conversations(agent.id)]

    def _assigned(self, agent: Agent, conversation_id: int) -> None:
        if self.desk.owner(conversation_id) != agent.id:
            raise ChatError("forbidden", "that conversation is not assigned to you")

    # --- shared -------------------------------------------------------------------------
    async def _read(self, conversation_id: int, role: str, seq: int,
                    visitor_id: str | None) -> None:
        mark = await self.store.mark_read(conversation_id, role, seq)
        frame = {"type": "read", "conversation_id": conversation_id, "seq": mark, "role": role}
        if visitor_id is not None:
            self.announce.to_visitor(visitor_id, frame)
        owner = self.desk.owner(conversation_id)
        if owner is not None:
            self.announce.to_agent(owner, frame)

    def announce_system(self, message: Message, visitor_id: str | None = None) -> None:
        """A system message (refund done, follow-up promised...) to the visitor and the
        agent in charge; `visitor_id` for a conversation no longer open."""
        visitor = self.desk.visitor_of.get(message.conversation_id)
        owner = self.desk.owner(message.conversation_id)
        self.announce.message(message, visitor.id if visitor else visitor_id,
                              {owner} if owner is not None else set())

    def _agent_posted(self, posted: Posted, agent_id: int) -> None:
        self._announce_posted(posted, also=agent_id)
        if not posted.duplicate and not posted.message.private:
            self.followup.answered(posted.message.conversation_id)

    def _announce_posted(self, posted: Posted, also: int | None = None) -> None:
        """Runs at commit, in commit order: new messages reach the parties in `seq` order."""
        if posted.duplicate:
            return
        conversation_id = posted.message.conversation_id
        visitor = self.desk.visitor_of.get(conversation_id)
        visitor_id = visitor.id if visitor else None
        owner = self.desk.owner(conversation_id)
        agents = {a for a in (owner, also) if a is not None}
        self.announce.message(posted.message, visitor_id, agents)

    async def _routing(self, action: Any) -> None:
        try:
            await action
        except RoutingError as error:
            raise ChatError(error.code, str(error)) from None
