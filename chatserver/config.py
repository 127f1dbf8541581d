"""Settings: one frozen object built from flags and `CHATSERVER_*` environment variables."""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlsplit

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


def parse_trusted_proxies(text: str) -> tuple[str, ...]:
    """Addresses or networks (comma separated) whose X-Forwarded-For and -Proto are believed;
    `*`: any; empty: none."""
    proxies = tuple(p.strip() for p in text.split(",") if p.strip())
    for proxy in proxies:
        if proxy != "*":
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise SettingsError(f"{ENV_PREFIX}FORWARDED_ALLOW_IPS lists addresses or "
                                    f"networks (like 127.0.0.1,10.0.0.0/8) or *, not {proxy!r}"
                                    ) from None
    return proxies


def database_kind(url: str) -> str:
    """`sqlite` or `postgresql`: the database a URL names (a SettingsError if it names none)."""
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return "sqlite"
    parts = _split(url)
    if parts is not None and parts.scheme in ("postgresql", "postgres"):
        database = parts.path.removeprefix("/")
        if parts.hostname and database and "/" not in database:
            return "postgresql"
    raise SettingsError("a database URL is sqlite:///PATH or "
                        f"postgresql://USER[:PASSWORD]@HOST[:PORT]/DB, not {_shown(url)!r}")


BUS_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def bus_kind(url: str) -> str:
    """`memory` or `redis`: the bus a URL names (a SettingsError if it names none)."""
    if url == "memory://":
        return "memory"
    parts = _split(url)
    if (parts is not None and parts.scheme == "redis" and parts.hostname
            and re.fullmatch(r"(/\d{1,2})?/?", parts.path) and _prefix_only(parts.query)):
        return "redis"
    raise SettingsError("a bus URL is memory:// or redis://HOST[:PORT][/N][?prefix=P] (P: up "
                        f"to 64 letters, digits or _.:-), not {_shown(url)!r}")


def _prefix_only(query: str) -> bool:
    """No option, or one `prefix` (the only option a bus URL takes)."""
    try:
        options = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return False
    return len(options) <= 1 and all(name == "prefix" and BUS_PREFIX.fullmatch(value)
                                     for name, value in options)


def _split(url: str) -> SplitResult | None:
    """The URL's parts, or None when its port is not a number in range."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        return None
    return parts


def _shown(url: str) -> str:
    """The URL as an error may print it: without its password."""
    return re.sub(r"(://[^:/@]*:)[^/]*@", r"\1***@", url)


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
    # the secrets Shopify and WooCommerce sign their order webhooks with (docs/shops.md)
    shopify_webhook_secret: str | None = None
    woocommerce_webhook_secret: str | None = None
    # Stripe (docs/stripe.md): the secret API key turns on refunds through Stripe (also read
    # from CHATSERVER_STRIPE_API_KEY), the webhook signing secret its events; the API's
    # address is Stripe's unless a test or a proxy sets another
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str = "https://api.stripe.com"
    smtp_url: str | None = None
    # proxies (nginx) whose X-Forwarded-For counts as the client's address
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1", "::1")
    visitor_message_limit: Limit = Limit(20, 10.0)
    visitor_session_limit: Limit = Limit(30, 60.0)
    transcript_email_limit: Limit = Limit(5, 3600.0)  # per visitor, and per address
    transcript_download_limit: Limit = Limit(20, 3600.0)  # a visitor's own copies (zips)
    grace_seconds: float = 60.0
    email_delay: float = 30.0  # an answer unread this long by a visitor who left is emailed
    unanswered_alert: float = 120.0  # a visitor unanswered this long is flagged
    # outgoing webhooks may go to loopback, private and link-local addresses (tests, a
    # receiver on the same network)
    webhooks_allow_private: bool = False
    hello_timeout: float = 10.0
    header_timeout: float = 10.0  # for an HTTP request's headers (a WebSocket's handshake too)
    max_frame_bytes: int = 64 * 1024
    max_text_chars: int = 4000
    # attachments (docs/protocol.md): the largest file, and what one visitor may upload an hour
    max_upload_bytes: int = 10 * 1024 * 1024
    visitor_uploads_per_hour: int = 20
    visitor_upload_bytes_per_hour: int = 50 * 1024 * 1024
    # a directory for attachments' bytes instead of the database (shared by every server)
    attachments_dir: str | None = None
    # money limits per conversation, in minor units (admins have none)
    agent_refund_limit: int = 5000
    agent_credit_limit: int = 2500
    supervisor_limit: int = 50000
    # agents' refunds beyond these go to a supervisor whatever the amount
    risk_max_refunds: int = 2  # in 90 days
    risk_max_refund_rate: float = 0.5  # refunded over purchased, over all time
    # closed conversations older than this many days are erased, daily (0: kept for good)
    retention_days: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Environment first, then explicit overrides (command-line flags); `None` means unset."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = environ.get(ENV_PREFIX + field.name.upper())
            value = None if raw is None else _convert(field.name, str(field.type), raw)
            if value is not None:  # set but empty: the default (a URL, a secret)
                values[field.name] = value
        if "stripe_secret_key" not in values and environ.get(ENV_PREFIX + "STRIPE_API_KEY"):
            values["stripe_secret_key"] = environ[ENV_PREFIX + "STRIPE_API_KEY"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.check_backends()
        return settings

    def check_backends(self) -> None:
        """Both URLs name a backend, and the two make one server: SQLite is served by one
        process, so only with the in-process bus."""
        database, bus = database_kind(self.database_url), bus_kind(self.bus_url)
        if database == "sqlite" and bus != "memory":
            raise SettingsError(
                f"a SQLite database takes the bus memory:// only, not {_shown(self.bus_url)!r}: "
                "processes sharing one SQLite file, each routing on its own, would split one "
                "server into several that do not hear each other (use a postgresql:// "
                "DATABASE_URL for several processes)")

    @property
    def payment_providers(self) -> frozenset[str]:
        """The providers that move money when the ledger says so, besides `manual` (always)."""
        return frozenset({"stripe"}) if self.stripe_secret_key else frozenset()

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
    if kind == "bool":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind == "Limit":
        return Limit.parse(raw)
    if name == "allowed_origins":
        return parse_origins(raw)
    if name == "forwarded_allow_ips":
        return parse_trusted_proxies(raw)
    return raw or None
