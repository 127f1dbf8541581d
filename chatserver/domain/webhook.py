"""The order webhook's signature. The shop signs "{timestamp}.{raw body}" with WEBHOOK_SECRET,
so a captured webhook can be neither altered nor, after five minutes, replayed; within them
the store refuses exact replays and webhooks older than the last one applied to the order."""

from __future__ import annotations

import hashlib
import hmac
import re

from chatserver.domain.errors import Refused

TOLERANCE_SECONDS = 300
TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds, ASCII digits only


def sign(secret: str, timestamp: str, raw: bytes) -> str:
    """What the shop's back end sends as X-Chatserver-Signature."""
    signed = timestamp.encode() + b"." + raw
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verified_timestamp(secret: str | None, timestamp: str | None, signature: str | None,
                       raw: bytes, now: float) -> int:
    """The webhook's timestamp, when `signature` signs it and the body with `secret` and it
    is within five minutes of `now`; 401 otherwise."""
    if not secret:
        raise Refused(401, "bad_signature", "no webhook secret is set: webhooks are refused")
    if timestamp is None or not TIMESTAMP.fullmatch(timestamp):
        raise Refused(401, "bad_timestamp", "X-Chatserver-Timestamp must be the time of "
                      "sending in Unix seconds")
    expected = sign(secret, timestamp, raw)
    if not hmac.compare_digest((signature or "").lower().encode(), expected.encode()):
        raise Refused(401, "bad_signature", "X-Chatserver-Signature must be sha256=<hex "
                      "HMAC-SHA256 of \"{timestamp}.{raw body}\" with the webhook secret>")
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise Refused(401, "bad_timestamp", "X-Chatserver-Timestamp is more than 5 minutes "
                      "from the server's clock: sign each delivery (and retry) afresh")
    return int(timestamp)


def applies(replayed: bool, last_applied: int | None, timestamp: int) -> bool:
    """Whether a signed webhook changes its order: never an exact replay, nor one older than
    the last webhook applied to that order (deliveries may arrive out of order)."""
    return not replayed and (last_applied is None or timestamp >= last_applied)
