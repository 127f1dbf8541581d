"""Outgoing webhooks' rules, after the Standard Webhooks convention
(https://www.standardwebhooks.com/): the events, the signature, the retry schedule and the
addresses a delivery may go to. Plain functions: the store keeps the outbox, the service
sends (service/webhooks.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from chatserver.domain.frames import with_schema

EVENTS = ("conversation.created", "conversation.assigned", "message.created",
          "conversation.closed", "conversation.rated", "refund.created", "refund.updated",
          "credit.created", "follow_up.due")
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
# seconds before each retry (the first within 30 s), about 40 hours in all (more than a day
# at the least jitter); each taken with a fifth of jitter either way, so deliveries that
# failed together are not all retried together
RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 43200)
JITTER = 0.2
MAX_URL = 2000
ANSWER_EXCERPT = 200  # characters of an endpoint's answer kept with its delivery


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256, keyed with the
    secret's decoded part, of `{id}.{timestamp}.{body}`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_id(delivery_id: int) -> str:
    """The same on every try of a delivery (a receiver drops repeats by it)."""
    return f"msg_{delivery_id}"


def retry_delay(attempts: int, rand: random.Random | None = None) -> float | None:
    """Seconds until the next try of a delivery tried `attempts` times and failed each time;
    None: given up."""
    if attempts > len(RETRY_DELAYS):
        return None
    spread = (rand or random).uniform(1 - JITTER, 1 + JITTER)
    return RETRY_DELAYS[attempts - 1] * spread


def event_names(names: object) -> tuple[str, ...]:
    """The events an endpoint subscribes to, in EVENTS' order: a check of a request's field
    (ValueError says what is wrong)."""
    if not isinstance(names, list) or not names or \
            not all(isinstance(name, str) for name in names):
        raise ValueError("must be a non-empty list of event names")
    unknown = sorted(set(names) - set(EVENTS))
    if unknown:
        raise ValueError(f"names unknown events: {', '.join(unknown)} "
                         f"(known: {', '.join(EVENTS)})")
    return tuple(name for name in EVENTS if name in names)


with_schema(event_names, {"type": "array", "minItems": 1, "items": {"enum": list(EVENTS)}})


def forbidden_address(addresses: Iterable[str]) -> str | None:
    """The first address a delivery must not go to (loopback, private, link-local and the
    like: another machine's inside, reached from ours), or None."""
    for text in addresses:
        address = ipaddress.ip_address(text.split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            return text
    return None


class Pinned(NamedTuple):
    """A post to an address checked, whatever its name resolves to by the time it is made."""
    url: str
    host: str  # the Host header: the name the receiver expects
    tls_name: str | None  # the name its certificate must be for (https)


def pinned(url: str, address: str) -> Pinned:
    """`url` with its host name replaced by `address`, one of the name's that was checked
    (a name looked up again by the HTTP client could point elsewhere: DNS rebinding)."""
    parts = urlsplit(url)
    userinfo, _, host = parts.netloc.rpartition("@")
    shown = f"[{address}]" if ":" in address else address
    netloc = (f"{userinfo}@" if userinfo else "") + shown + \
        (f":{parts.port}" if parts.port else "")
    return Pinned(urlunsplit(parts._replace(netloc=netloc)), host,
                  parts.hostname if parts.scheme == "https" else None)


def events_column(events: Iterable[str]) -> str:
    """The events as stored: space-separated with a space at each end, so a subscription is
    found with one `instr`/`position` of ' name '."""
    return " " + " ".join(events) + " "


def events_of(column: str) -> list[str]:
    return column.split()
