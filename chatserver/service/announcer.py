"""Who hears what: builds the server's frames and publishes them to the right topics.

Topics: `visitor:<id>` reaches every tab of one visitor, `agent:<id>` every connection of
one agent, `agents` every agent connection. Private notes are only ever published to agent
topics: a visitor topic never carries one.
"""

from __future__ import annotations

from typing import Any

from chatserver.bus import Bus, Event
from chatserver.domain.attachments import Link
from chatserver.domain.models import Conversation, Message, Visitor
from chatserver.service.file_links import FileLinks


def visitor_topic(visitor_id: str) -> str:
    return f"visitor:{visitor_id}"


def agent_topic(agent_id: int) -> str:
    return f"agent:{agent_id}"


AGENTS = "agents"
SUPERVISORS = "supervisors"  # supervisors' and admins' connections


class Announcer:
    def __init__(self, bus: Bus, link: Link | None = None) -> None:
        """`link` signs the urls of the files messages carry (FileLinks)."""
        self.bus = bus
        self.link: Link = link or FileLinks(None)

    def to_visitor(self, visitor_id: str, frame: dict[str, Any]) -> None:
        self.bus.publish(visitor_topic(visitor_id), Event(frame))

    def to_agent(self, agent_id: int, frame: dict[str, Any]) -> None:
        self.bus.publish(agent_topic(agent_id), Event(frame))

    def to_agents(self, frame: dict[str, Any]) -> None:
        self.bus.publish(AGENTS, Event(frame))

    def to_overseers(self, frame: dict[str, Any], agent_id: int | None) -> None:
        """To the supervisors and admins, and to the agent it concerns (once, even when they
        are a supervisor: see the Bus's delivery guarantee)."""
        event = Event(frame)
        self.bus.publish(SUPERVISORS, event)
        if agent_id is not None:
            self.bus.publish(agent_topic(agent_id), event)

    def message(self, message: Message, visitor_id: str | None, agent_ids: set[int]) -> None:
        """The party who did not write it hears it first: the writer's screen shows it
        already, and each socket's frames leave in the order written (web/coalescing.py)."""
        def to_visitor() -> None:
            if visitor_id is not None and not message.private:
                self.to_visitor(visitor_id, {"type": "message", **message.for_visitor(self.link)})
        if message.author.role != "visitor":
            to_visitor()
        if agent_ids:
            event = Event({"type": "message", **message.for_agent(self.link)})
            for agent_id in agent_ids:
                self.bus.publish(agent_topic(agent_id), event)
        if message.author.role == "visitor":
            to_visitor()


def status_frame(conversation_id: int, status: str, agent_name: str | None,
                 queue_position: int | None, agents_online: int,
                 expected_wait_seconds: int | None) -> dict[str, Any]:
    queued = status == "queued"
    return {"type": "status", "conversation_id": conversation_id, "status": status,
            "agent": {"name": agent_name} if agent_name and not queued else None,
            "queue_position": queue_position if queued else None,
            "agents_online": agents_online,
            "expected_wait_seconds": expected_wait_seconds if queued else None}


def assigned_frame(conversation: Conversation, visitor: Visitor | None,
                   messages: list[Message], link: Link) -> dict[str, Any]:
    return {"type": "assigned", "conversation": conversation_card(conversation, visitor,
                                                                  messages, link)}


def conversation_card(conversation: Conversation, visitor: Visitor | None,
                      messages: list[Message], link: Link) -> dict[str, Any]:
    """A conversation as an agent sees it: who is asking, and everything said, notes too."""
    return {
        "id": conversation.id,
        "status": conversation.status,
        "visitor": visitor.public() if visitor else None,
        "customer_id": conversation.customer_id,
        "waiting_since": conversation.waiting_since,
        "last_seq": conversation.last_seq,
        "visitor_read_seq": conversation.visitor_read_seq,
        "agent_read_seq": conversation.agent_read_seq,
        "messages": [m.for_agent(link) for m in messages],
    }
