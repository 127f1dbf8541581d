"""What the Store's methods take and give back, and the refusals they raise (part of the
Store interface, store/base.py): plain data, whatever the backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from chatserver.domain.models import Agent, Conversation, Message, Visitor

T = TypeVar("T")

# called with a write's result once it is durable, in commit order (None: nobody to tell)
OnCommit = Callable[[T], None] | None

Change = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class OrderChange:
    """An order saved by its `external_id`: what happened to it, and how it looks now."""

    change: Change
    order: dict[str, Any]


@dataclass(frozen=True)
class IdempotencyKey:
    """A refund's or credit's Idempotency-Key, where it was used (caller and path), and the
    hash of the request body it came with."""

    scope: str
    path: str
    key: str
    body_hash: str


@dataclass(frozen=True)
class Outcome:
    """An HTTP status and body, and the system message the visitor should see, if any."""

    status: int
    body: dict[str, Any]
    notice: Message | None = None
    visitor_id: str | None = None


@dataclass(frozen=True)
class RefundDue:
    """A ledger entry's refund to ask its payment provider for: `key` is the entry's own
    idempotency key there (the same on every try), `payment_id` the order's payment there."""

    entry_id: int
    provider: str
    key: str
    payment_id: str
    amount_cents: int


class NotAllowed(Exception):
    """The database state does not allow the write (it changed since the caller looked)."""


class NotSendable(NotAllowed):
    """A message's attachment is not its sender's, or was sent already: nothing written."""

    def __init__(self) -> None:
        super().__init__("that file is not one you uploaded, or it was sent already")


class Stale(NotAllowed):
    """A routing write found the conversation no longer as its caller saw it, and wrote
    nothing: `current` is the conversation as it stands (None: there is no such one)."""

    def __init__(self, message: str, current: Conversation | None) -> None:
        super().__init__(message)
        self.current = current


@dataclass(frozen=True)
class Changed:
    """A routing change as committed: the system message saying so, and the conversation
    after it; for an assignment also the visitor and the whole transcript with notes."""

    message: Message
    conversation: Conversation
    visitor: Visitor | None = None
    transcript: tuple[Message, ...] = ()
    waited: float | None = None  # a first assignment: seconds the visitor queued for it


@dataclass(frozen=True)
class Posted:
    message: Message
    duplicate: bool = False  # the client_id was seen before: `message` is the first one
    opened: Conversation | None = None  # the conversation this message opened
    visitor: Visitor | None = None  # with `opened`: the visitor as stored (their customer's)


@dataclass(frozen=True)
class Picture:
    """What routing decides from, as the database holds it (Store.routing_picture, or inside
    a routing transaction): `version` counts routing changes, `now` is the database clock.
    Connections are the live ones of every server process; `disconnected_at` says when an
    agent's last one went (their grace period runs from there)."""

    version: int
    now: float
    agents: tuple[Agent, ...]
    connections: dict[int, int]  # agent id -> live connections
    disconnected_at: dict[int, float]
    last_assigned: dict[int, float]  # agent id -> when they were last given a conversation
    open: tuple[tuple[Conversation, float | None], ...]  # queued and active, with queue rank
