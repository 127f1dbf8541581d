"""The order webhook's signature over "{timestamp}.{raw body}", on a fixed clock."""

from __future__ import annotations

import pytest

from chatserver.domain.errors import Refused
from chatserver.domain.webhook import applies, sign, verified_timestamp

SECRET = "whsec-test"
NOW = 1_800_000_000.0
BODY = b'{"external_id": "1042"}'


def refusal(timestamp: str | None, signature: str | None, secret: str | None = SECRET) -> str:
    with pytest.raises(Refused) as refused:
        verified_timestamp(secret, timestamp, signature, BODY, NOW)
    assert refused.value.status == 401
    return refused.value.code


def test_a_webhook_signed_now_or_within_five_minutes_either_way_is_accepted() -> None:
    for timestamp in ("1800000000", "1799999700", "1800000300"):
        assert verified_timestamp(SECRET, timestamp, sign(SECRET, timestamp, BODY), BODY,
                                  NOW) == int(timestamp)


def test_the_signature_may_be_in_capitals() -> None:
    signature = sign(SECRET, "1800000000", BODY).upper()
    assert verified_timestamp(SECRET, "1800000000", signature, BODY, NOW) == 1_800_000_000


def test_more_than_five_minutes_from_the_clock_is_refused() -> None:
    for timestamp in ("1799999699", "1800000301"):
        assert refusal(timestamp, sign(SECRET, timestamp, BODY)) == "bad_timestamp"


def test_a_missing_or_malformed_timestamp_is_refused() -> None:
    for timestamp in (None, "", "1.8e9", "-1", "+1800000000", "\u0661" * 10, "1" * 13):
        assert refusal(timestamp, sign(SECRET, timestamp or "", BODY)) == "bad_timestamp"


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    assert refusal("1800000001", sign(SECRET, "1800000000", BODY)) == "bad_signature"
    assert refusal("1800000000", sign("other", "1800000000", BODY)) == "bad_signature"
    assert refusal("1800000000", None) == "bad_signature"


def test_without_a_secret_nothing_is_accepted() -> None:
    for secret in (None, ""):
        assert refusal("1800000000", sign("", "1800000000", BODY), secret) == "bad_signature"


def test_the_first_webhook_for_an_order_applies() -> None:
    assert applies(replayed=False, last_applied=None, timestamp=1_800_000_000)


def test_an_exact_replay_applies_nothing() -> None:
    assert not applies(replayed=True, last_applied=None, timestamp=1_800_000_000)


def test_a_webhook_older_than_the_last_applied_applies_nothing() -> None:
    assert not applies(replayed=False, last_applied=1_800_000_001, timestamp=1_800_000_000)


def test_a_webhook_as_new_as_or_newer_than_the_last_applied_applies() -> None:
    assert applies(replayed=False, last_applied=1_800_000_000, timestamp=1_800_000_000)
    assert applies(replayed=False, last_applied=1_800_000_000, timestamp=1_800_000_001)
