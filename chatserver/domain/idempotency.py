"""Idempotency keys: the same key with the same body replays the first answer; the same key
with another body is refused, whatever the first answer was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatserver.domain.ledger import LedgerError


@dataclass(frozen=True)
class FirstAnswer:
    """What was answered the first time a key was used, and the hash of that request's body."""

    body_hash: str
    status: int
    body: dict[str, Any]


def replay(first: FirstAnswer | None, body_hash: str) -> FirstAnswer | None:
    """The answer to give again, or None when the key is new (run the request)."""
    if first is None:
        return None
    if first.body_hash != body_hash:
        raise LedgerError(422, "idempotency_mismatch", "this Idempotency-Key was used with "
                          "another request body")
    return first
