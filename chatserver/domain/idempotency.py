"""Idempotency keys: the same key with the same body replays the first answer, a refusal
(404, 403, 409) as much as a success; the same key with another body is refused, whatever the
first answer was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from chatserver.domain.ledger import LedgerError


@dataclass(frozen=True)
class FirstAnswer:
    """What was answered the first time a key was used, and the hash of that request's body."""

    body_hash: str
    status: int
    body: dict[str, Any]


def refusal(error: LedgerError) -> dict[str, Any]:
    """A refusal as the answer kept for its key."""
    return {"error": {"code": error.code, "message": error.message}}


class Answer(Protocol):
    @property
    def status(self) -> int: ...
    @property
    def body(self) -> dict[str, Any]: ...


A = TypeVar("A", bound=Answer)


def check_not_refused(answer: A) -> A:
    """The answer, or the refusal it holds (made now or replayed) raised as it first was."""
    if answer.status >= 400:
        error = answer.body["error"]
        raise LedgerError(answer.status, error["code"], error["message"])
    return answer


def replay(first: FirstAnswer | None, body_hash: str) -> FirstAnswer | None:
    """The answer to give again, or None when the key is new (run the request)."""
    if first is None:
        return None
    if first.body_hash != body_hash:
        raise LedgerError(422, "idempotency_mismatch", "this Idempotency-Key was used with "
                          "another request body")
    return first
