"""Identity verification: the website signs who its signed-in user is; we check the signature."""

from __future__ import annotations

import hashlib
import hmac

from chatserver.domain.frames import EMAIL

MAX_AGE_SECONDS = 24 * 3600


def sign_identity(secret: str, user_id: str, email: str, ts: int | str) -> str:
    """What the website's back end computes (shown in the README for integrators)."""
    payload = f"{user_id}:{email}:{ts}".encode()
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def verify_identity(secret: str | None, identity: dict[str, object], now: float) -> bool:
    """True when `hash` is the HMAC of `user_id:email:ts` and `ts` is within 24 hours."""
    if not secret:
        return False
    user_id, email = identity.get("user_id"), identity.get("email")
    ts, given = identity.get("ts"), identity.get("hash")
    if not isinstance(given, str) or not given.isascii() or not isinstance(user_id, str | int):
        return False
    if not isinstance(email, str) or isinstance(ts, bool) or not isinstance(ts, int | str):
        return False
    if str(user_id).strip() == "" or not EMAIL.fullmatch(email.strip()):
        return False  # signed or not, no customer is made of nobody
    try:
        age = now - int(ts)
    except ValueError:
        return False
    if abs(age) > MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(sign_identity(secret, str(user_id), email, ts), given.lower())
