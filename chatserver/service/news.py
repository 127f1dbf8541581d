"""News of a conversation to its parties (the visitor, and the agent in charge), shared by
the visitor's chat, the agent desk and the money and supervision services."""

from __future__ import annotations

from chatserver.domain.models import Message
from chatserver.service.announcer import Announcer
from chatserver.service.desk import Desk
from chatserver.store.types import Posted


class ConversationNews:
    def __init__(self, announce: Announcer, desk: Desk) -> None:
        self.announce = announce
        self.desk = desk

    def posted(self, posted: Posted, also: int | None = None) -> None:
        """Runs at commit, in commit order: new messages reach the parties in `seq` order."""
        if posted.duplicate:
            return
        conversation_id = posted.message.conversation_id
        visitor = self.desk.visitor_of.get(conversation_id)
        visitor_id = visitor.id if visitor else None
        owner = self.desk.owner(conversation_id)
        agents = {a for a in (owner, also) if a is not None}
        self.announce.message(posted.message, visitor_id, agents)

    def system(self, message: Message, visitor_id: str | None = None) -> None:
        """A system message (refund done, follow-up promised...) to the visitor and the
        agent in charge; `visitor_id` for a conversation no longer open."""
        visitor = self.desk.visitor_of.get(message.conversation_id)
        owner = self.desk.owner(message.conversation_id)
        self.announce.message(message, visitor.id if visitor else visitor_id,
                              {owner} if owner is not None else set())

    def read(self, conversation_id: int, role: str, mark: int,
             visitor_id: str | None) -> None:
        """A read mark, to the visitor and the agent in charge."""
        frame = {"type": "read", "conversation_id": conversation_id, "seq": mark, "role": role}
        if visitor_id is not None:
            self.announce.to_visitor(visitor_id, frame)
        owner = self.desk.owner(conversation_id)
        if owner is not None:
            self.announce.to_agent(owner, frame)
