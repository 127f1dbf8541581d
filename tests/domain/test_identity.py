"""Identity verification (visitor socket, rule 7): hex HMAC-SHA256 of "user_id:email:ts"."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from chatserver.domain.identity import sign_identity, verify_identity

SECRET = "shop-identity-secret"
NOW = 1_700_000_000
DAY = 24 * 3600


def identity(user_id: object = "u-42", email: object = "ada@example.com", ts: object = NOW,
             secret: str = SECRET) -> dict[str, object]:
    """What a shop's back end hands the widget for its signed-in user."""
    signed = sign_identity(secret, str(user_id), str(email), str(ts))
    return {"user_id": user_id, "email": email, "ts": ts, "hash": signed, "name": "Ada"}


def test_signature_is_hex_hmac_sha256_of_user_email_and_ts() -> None:
    expected = hmac.new(SECRET.encode(), b"u-42:ada@example.com:1700000000",
                        hashlib.sha256).hexdigest()

    assert sign_identity(SECRET, "u-42", "ada@example.com", 1_700_000_000) == expected


def test_valid_hash_is_accepted() -> None:
    assert verify_identity(SECRET, identity(), NOW) is True


@pytest.mark.parametrize("ts", [NOW, str(NOW)], ids=["number", "string"])
def test_ts_may_be_sent_as_number_or_string(ts: object) -> None:
    assert verify_identity(SECRET, identity(ts=ts), NOW) is True


def test_numeric_user_id_is_accepted() -> None:
    assert verify_identity(SECRET, identity(user_id=42), NOW) is True


def test_uppercase_hex_is_accepted() -> None:
    signed = identity()
    signed["hash"] = str(signed["hash"]).upper()

    assert verify_identity(SECRET, signed, NOW) is True


def test_hash_made_with_another_secret_is_rejected() -> None:
    assert verify_identity(SECRET, identity(secret="someone-elses-secret"), NOW) is False


@pytest.mark.parametrize("user_id, email", [
    ("", "ada@example.com"), ("  ", "ada@example.com"), ("u-42", ""), ("u-42", "not-an-email"),
])
def test_a_correctly_signed_identity_of_nobody_is_rejected(user_id: str, email: str) -> None:
    assert verify_identity(SECRET, identity(user_id=user_id, email=email), NOW) is False


@pytest.mark.parametrize("field, forged", [
    ("email", "mallory@example.com"),
    ("user_id", "u-1"),
    ("ts", NOW - 60),
])
def test_tampered_field_is_rejected(field: str, forged: object) -> None:
    signed = identity()
    signed[field] = forged

    assert verify_identity(SECRET, signed, NOW) is False


@pytest.mark.parametrize("age", [DAY + 1, 30 * DAY], ids=["just-over-a-day", "a-month"])
def test_ts_older_than_24_hours_is_rejected(age: int) -> None:
    assert verify_identity(SECRET, identity(ts=NOW - age), NOW) is False


def test_ts_exactly_24_hours_old_is_still_accepted() -> None:
    assert verify_identity(SECRET, identity(ts=NOW - DAY), NOW) is True


@pytest.mark.parametrize("ahead", [DAY + 1, 365 * DAY])
def test_ts_more_than_24_hours_in_the_future_is_rejected(ahead: int) -> None:
    assert verify_identity(SECRET, identity(ts=NOW + ahead), NOW) is False


def test_small_clock_skew_into_the_future_is_accepted() -> None:
    assert verify_identity(SECRET, identity(ts=NOW + 300), NOW) is True


@pytest.mark.parametrize("bad_hash", ["zz" * 32, "not-a-hash", "", "0" * 64])
def test_non_hex_or_wrong_hash_is_rejected(bad_hash: str) -> None:
    signed = identity()
    signed["hash"] = bad_hash

    assert verify_identity(SECRET, signed, NOW) is False


def test_hash_with_non_ascii_characters_is_rejected_not_an_error() -> None:
    signed = identity()
    signed["hash"] = "é" * 64  # a visitor can send anything in the hello frame

    assert verify_identity(SECRET, signed, NOW) is False


@pytest.mark.parametrize("missing", ["user_id", "email", "ts", "hash"])
def test_missing_field_is_rejected(missing: str) -> None:
    signed = identity()
    del signed[missing]

    assert verify_identity(SECRET, signed, NOW) is False


@pytest.mark.parametrize("field, wrong", [
    ("hash", 12345),
    ("hash", None),
    ("email", None),
    ("email", ["ada@example.com"]),
    ("user_id", None),
    ("user_id", {"id": 1}),
    ("ts", True),
    ("ts", None),
    ("ts", "yesterday"),
    ("ts", [NOW]),
])
def test_field_of_the_wrong_type_is_rejected(field: str, wrong: object) -> None:
    signed = identity()
    signed[field] = wrong

    assert verify_identity(SECRET, signed, NOW) is False


@pytest.mark.parametrize("secret", [None, ""], ids=["unset", "empty"])
def test_without_a_configured_secret_every_identity_is_rejected(secret: str | None) -> None:
    unsigned = identity(secret="")  # even one "signed" with the empty key

    assert verify_identity(secret, unsigned, NOW) is False
    assert verify_identity(secret, identity(), NOW) is False
