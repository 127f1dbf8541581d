"""Settings: one frozen object built from flags and `CHATSERVER_*` environment variables."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

ENV_PREFIX = "CHATSERVER_"


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


@dataclass(frozen=True)
class Limit:
    """`count` events per `seconds`; a count of 0 turns the limit off."""

    count: int
    seconds: float

    @property
    def off(self) -> bool:
        return self.count == 0

    @classmethod
    def parse(cls, text: str) -> Limit:
        text = text.strip()
        if text == "0":
            return cls(0, 0.0)
        count, sep, seconds = text.partition("/")
        try:
            limit = cls(int(count), float(seconds))
        except ValueError:
            limit = None
        if not sep or limit is None or limit.count < 0 or not 0 < limit.seconds < math.inf:
            raise SettingsError(f"a limit is COUNT/SECONDS (like 20/10) or 0, not {text!r}")
        return limit


def parse_origins(text: str | None) -> tuple[str, ...] | None:
    """`None` (unset): only the server's own origin; `("*",)`: any origin."""
    if text is None or not text.strip():
        return None
    return tuple(o.strip().rstrip("/") for o in text.split(",") if o.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./chatserver.db"
    bus_url: str = "memory://"
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_origins: tuple[str, ...] | None = None
    secret_key: str | None = None
    identity_secret: str | None = None
    webhook_secret: str | None = None
    smtp_url: str | None = None
    visitor_message_limit: Limit = Limit(20, 10.0)
    visitor_session_limit: Limit = Limit(30, 60.0)
    transcript_email_limit: Limit = Limit(5, 3600.0)  # per visitor, and per address
    grace_seconds: float = 60.0
    email_delay: float = 30.0  # an answer unread this long by a visitor who left is emailed
    unanswered_alert: float = 120.0  # a visitor unanswered this long is flagged
    hello_timeout: float = 10.0
    header_timeout: float = 10.0  # for an HTTP request's headers (a WebSocket's handshake too)
    max_frame_bytes: int = 64 * 1024
    max_text_chars: int = 4000
    # money limits per conversation, in minor units (admins have none)
    agent_refund_limit: int = 5000
    agent_credit_limit: int = 2500
    supervisor_limit: int = 50000
    # agents' refunds beyond these go to a supervisor whatever the amount
    risk_max_refunds: int = 2  # in 90 days
    risk_max_refund_rate: float = 0.5  # refunded over purchased, over all time

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Environment first, then explicit overrides (command-line flags); `None` means unset."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = environ.get(ENV_PREFIX + field.name.upper())
            if raw is not None:
                values[field.name] = _convert(field.name, str(field.type), raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


NUMBERS: dict[str, type[int] | type[float]] = {"int": int, "float": float}


def _convert(name: str, kind: str, raw: str) -> Any:
    """An environment variable's text as the setting's type (`kind` is its annotation)."""
    if kind in NUMBERS:
        try:
            number = NUMBERS[kind](raw)
        except ValueError:
            number = math.nan
        if not 0 <= number < math.inf or (name == "port" and number > 65535):
            raise SettingsError(f"{ENV_PREFIX}{name.upper()} must be a number in range, "
                                f"not {raw!r}")
        return number
    if kind == "Limit":
        return Limit.parse(raw)
    if name == "allowed_origins":
        return parse_origins(raw)
    return raw or None
