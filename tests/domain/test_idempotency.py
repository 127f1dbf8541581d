"""Idempotency keys: replay the first answer for the same body, refuse another body."""

from __future__ import annotations

import pytest

from chatserver.domain.idempotency import FirstAnswer, replay
from chatserver.domain.ledger import LedgerError

FIRST = FirstAnswer("hash-a", 201, {"refund": {"id": 1}})


def test_a_new_key_runs_the_request() -> None:
    assert replay(None, "hash-a") is None


def test_the_same_key_and_body_replay_the_first_answer() -> None:
    assert replay(FIRST, "hash-a") == FIRST


def test_a_first_answer_that_waited_for_approval_is_replayed_as_it_was() -> None:
    waited = FirstAnswer("hash-a", 202, {"approval": {"id": 3}})
    assert replay(waited, "hash-a") == waited


def test_the_same_key_with_another_body_is_refused() -> None:
    with pytest.raises(LedgerError) as refused:
        replay(FIRST, "hash-b")
    assert (refused.value.status, refused.value.code) == (422, "idempotency_mismatch")
