"""A visitor's chat, whichever socket or server they use: who they are (hello), their
messages, typing, read marks, closing and rating.

The visitor socket parses frames and calls these methods; they check the rules, commit
through the store and announce through the bus. A refused act raises `ChatError` with the
wire code and leaves nothing stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatserver.bus import Bus, Offer, Subscription
from chatserver.config import Settings
from chatserver.domain.clock import now
from chatserver.domain.identity import verify_identity
from chatserver.domain.models import Author, Conversation, Message, Visitor
from chatserver.service.announcer import visitor_topic
from chatserver.service.desk import Desk
from chatserver.service.errors import ChatError, routed
from chatserver.service.file_links import refused_attachment
from chatserver.service.missed_answers import MissedAnswers
from chatserver.service.news import ConversationNews
from chatserver.service.rate_windows import RateWindows, try_again_in
from chatserver.store import Store
from chatserver.store.types import NotSendable, OnCommit, Posted


@dataclass(frozen=True)
class Identified:
    """Who a visitor's `hello` turned out to be."""

    visitor: Visitor
    token: str
    identity_error: bool = False
    new: bool = False  # made for this hello: no conversation yet, nothing to read


class VisitorChat:
    def __init__(self, settings: Settings, store: Store, bus: Bus, desk: Desk,
                 news: ConversationNews, windows: RateWindows,
                 missed_answers: MissedAnswers) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.desk = desk
        self.news = news
        self.windows = windows
        self.missed_answers = missed_answers
        self.link = desk.announce.link  # signs the urls of the files messages carry

    async def identify(self, frame: dict[str, Any], address: str) -> Identified:
        """Who says `hello`: the token's visitor, or a new one; verified when the identity's
        signature holds (a bad one leaves the visitor anonymous, flagged in the result)."""
        token = frame["token"]
        visitor = await self.store.visitor_by_token(token) if token else None
        if visitor is None:  # no token, or one we never issued: a new visitor, never another's
            hit = await self.windows.new_visitors.hit(address, now())
            if not hit.allowed:
                raise ChatError("rate_limited", "too many new chats from this address; "
                                + try_again_in(hit.retry_after))
            visitor, token = await self.store.create_visitor(frame)
            new = True
        else:
            visitor, new = await self.store.update_visitor(visitor, frame), False
        identity = frame["identity"]
        if identity is None:
            return Identified(visitor, token, new=new)
        if not verify_identity(self.settings.identity_secret, identity, now()):
            return Identified(visitor, token, identity_error=True, new=new)
        name = identity.get("name")
        visitor = await self.store.verify_visitor(
            visitor, token, str(identity["user_id"]), str(identity["email"]),
            name if isinstance(name, str) else None)
        return Identified(visitor, token)

    async def subscribe(self, visitor: Visitor, offer: Offer | None = None) -> Subscription:
        """The news for every tab of this visitor."""
        return await self.bus.subscribe([visitor_topic(visitor.id)], offer=offer)

    async def connected(self, visitor: Visitor) -> None:
        await self.missed_answers.online.connected(visitor.id)

    async def disconnected(self, visitor: Visitor) -> None:
        await self.missed_answers.online.disconnected(visitor.id)

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

    async def messages_after(self, conversation_id: int, seq: int) -> list[Message]:
        """A conversation's messages numbered after `seq`: what a socket that heard of a later
        one has not been sent (its events were late, or lost with the process publishing)."""
        return await self.store.messages(conversation_id, seq)

    def agents_online(self) -> int:
        return self.desk.agents_online()

    def conversation_public(self, conversation: Conversation) -> dict[str, Any]:
        position = self.desk.queue_position(conversation.id)
        return {**conversation.public(position),
                "expected_wait_seconds": self.desk.expected_wait(position)}

    async def message(self, visitor: Visitor, client_id: str, text: str,
                      attachment_id: int | None = None,
                      acknowledge: OnCommit[Posted] = None) -> Posted:
        """Store and announce a visitor's message (and the file it carries, one they
        uploaded). Only new messages count against the rate limit: a resent one is answered
        with its first `ack` whatever the rate. `acknowledge` runs at commit, right after
        the news: the sender's `ack` can leave with the message's echo."""
        author = Author("visitor", visitor.name or "Visitor", visitor.id)
        at = now()
        hit = await self.windows.visitor_messages.hit(visitor.id, at)
        if not hit.allowed:
            first = await self.store.message_by_client_id(author, client_id)
            if first is None:
                raise ChatError("rate_limited", "you are sending messages too fast; "
                                + try_again_in(hit.retry_after))
            return Posted(first, duplicate=True)

        def at_commit(posted: Posted) -> None:
            if posted.opened is not None:  # as stored: verified since this socket said hello?
                self.desk.opened(posted.opened, posted.visitor or visitor)
            self.news.posted(posted)
            if acknowledge is not None:
                acknowledge(posted)
        try:
            posted = await self.store.post_visitor_message(
                author, client_id, text, None, on_commit=at_commit, attachment_id=attachment_id)
        except NotSendable:
            await hit.undo()
            raise await refused_attachment(self.store, attachment_id or 0, "visitor",
                                           visitor.id) from None
        except BaseException:
            await hit.undo()
            raise
        if posted.duplicate:
            await hit.undo()
        return posted

    async def typing(self, visitor: Visitor, active: bool) -> None:
        conversation = await self._open_conversation(visitor)
        agent_id = self.desk.owner(conversation.id) if conversation else None
        if conversation is not None and agent_id is not None:
            self.news.announce.to_agent(agent_id, {
                "type": "typing", "conversation_id": conversation.id, "role": "visitor",
                "name": visitor.name or "Visitor", "active": active})

    async def read(self, visitor: Visitor, seq: int) -> None:
        conversation = await self.store.current_conversation(visitor.id)
        if conversation is None:
            raise ChatError("not_found", "there is no conversation to mark as read")
        mark = await self.store.mark_read(conversation.id, "visitor", seq)
        self.news.read(conversation.id, "visitor", mark, visitor.id)

    async def close(self, visitor: Visitor) -> None:
        conversation = await self._open_conversation(visitor)
        if conversation is None:
            raise ChatError("conflict", "there is no open conversation to close")
        await routed(self.desk.close(conversation.id,
                                     Author("visitor", visitor.name or "Visitor", visitor.id)))

    async def rate(self, visitor: Visitor, score: int, comment: str | None) -> None:
        conversation = await self.store.latest_closed(visitor.id)
        if conversation is None:
            raise ChatError("not_found", "there is no closed conversation to rate")
        await self.store.rate(conversation.id, score, comment)
        self.news.announce.to_visitor(visitor.id, {
            "type": "rated", "conversation_id": conversation.id, "score": score})

    async def _open_conversation(self, visitor: Visitor) -> Conversation | None:
        conversation = await self.store.current_conversation(visitor.id)
        return conversation if conversation and conversation.status != "closed" else None
