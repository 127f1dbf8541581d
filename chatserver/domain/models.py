"""Plain records shared by the store, the service and the sockets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from chatserver.domain.attachments import FileRef, Link

Role = Literal["agent", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("agent", "supervisor", "admin")
Presence = Literal["available", "away"]
Status = Literal["queued", "active", "closed"]
AuthorRole = Literal["visitor", "agent", "system"]


@dataclass(frozen=True)
class Agent:
    id: int
    email: str
    name: str
    role: Role
    capacity: int
    status: Presence
    disabled: bool = False

    @property
    def can_oversee(self) -> bool:
        """Supervisors and admins: notes in any conversation, every open one, the alerts and
        the approvals (the console shows them what this says)."""
        return self.role in ("supervisor", "admin")

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role,
                "capacity": self.capacity, "status": self.status}


VerifiedBy = Literal["identity", "purchase"]


def shown_name(typed: str | None, customer_name: str | None) -> str | None:
    """What agents call a visitor: the name of the customer they are verified as (only a
    verified identity or purchase links a visitor to one), else the name they typed."""
    return customer_name or typed


@dataclass(frozen=True)
class Integration:
    """Who an integration token speaks for: the shop's own systems (orders in, customers
    out), never an agent: it takes no chats and gives no money."""

    token_id: int


@dataclass(frozen=True)
class Visitor:
    id: str
    name: str | None = None  # as the visitor typed it (or their signed identity gave it)
    email: str | None = None
    verified: bool = False  # a signed identity
    customer_id: int | None = None
    page: str | None = None
    timezone: str | None = None  # IANA name, from the visitor's browser
    customer_name: str | None = None
    purchase_verified: bool = False  # an agent verified a purchase of theirs in a chat

    @property
    def verified_by(self) -> VerifiedBy | None:
        """How the visitor's link to their customer was proven; a signed identity first."""
        if self.verified:
            return "identity"
        return "purchase" if self.purchase_verified else None

    @property
    def shown_name(self) -> str | None:
        return shown_name(self.name, self.customer_name)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.shown_name, "email": self.email,
                "verified": self.verified, "verified_by": self.verified_by, "page": self.page,
                "timezone": self.timezone}


# What a visitor may tell about themselves in `hello`
DETAILS = ("name", "email", "page", "timezone")
VisitorDetails = dict[str, str | None]


@dataclass(frozen=True)
class Conversation:
    id: int
    visitor_id: str
    status: Status
    agent_id: int | None
    agent_name: str | None
    customer_id: int | None
    created_at: str
    waiting_since: str
    last_seq: int = 0
    last_note_seq: int = 0
    visitor_read_seq: int = 0
    agent_read_seq: int = 0
    closed_at: str | None = None
    emailed_seq: int = 0

    def public(self, queue_position: int | None) -> dict[str, Any]:
        """The contract's Conversation object, as the visitor sees it."""
        return {
            "id": self.id,
            "status": self.status,
            "agent": {"name": self.agent_name} if self.agent_name else None,
            "queue_position": queue_position if self.status == "queued" else None,
            "last_seq": self.last_seq,
            "visitor_read_seq": self.visitor_read_seq,
            "agent_read_seq": self.agent_read_seq,
        }


@dataclass(frozen=True)
class Author:
    role: AuthorRole
    name: str
    id: str | None = None  # visitor id or agent id as text; None for the system

    @property
    def sender_key(self) -> str | None:
        """Whose `client_id`s must be unique: one namespace per visitor and per agent."""
        return f"{self.role}:{self.id}" if self.id is not None else None


SYSTEM = Author("system", "System")


@dataclass(frozen=True)
class Message:
    conversation_id: int
    seq: int | None
    note_seq: int | None
    author: Author
    text: str
    at: str
    client_id: str | None = None
    attachment: FileRef | None = None

    @property
    def private(self) -> bool:
        return self.note_seq is not None

    def for_visitor(self, link: Link) -> dict[str, Any]:
        """The contract's Message; `link` signs a fresh url to its attachment."""
        frame: dict[str, Any] = {
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "author": {"role": self.author.role, "name": self.author.name},
            "text": self.text,
            "at": self.at,
        }
        if self.client_id is not None:
            frame["client_id"] = self.client_id
        if self.attachment is not None:
            frame["attachment"] = self.attachment.for_client(link)
        return frame

    def for_agent(self, link: Link) -> dict[str, Any]:
        frame = self.for_visitor(link)
        frame["private"] = self.private
        if self.private:
            del frame["seq"]
            frame["note_seq"] = self.note_seq
        return frame
