"""What the Store's customer, order and money methods take and give back (part of the Store
interface, store/base.py): plain data, whatever the backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from chatserver.domain.models import Message

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
