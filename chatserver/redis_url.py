"""A Redis URL as the bus and the shared rate limits take it: `redis://HOST[:PORT][/N]`,
optionally `?prefix=P`, which starts every channel and key name (one Redis may serve several
deployments, or test runs: pub/sub ignores the database number)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from chatserver.config import bus_kind


@dataclass(frozen=True)
class RedisUrl:
    address: str  # the URL without its query, as redis-py takes it
    prefix: str

    @classmethod
    def parse(cls, url: str) -> RedisUrl:
        """The URL's parts; a SettingsError (config's, a ValueError) if it is no Redis URL."""
        if bus_kind(url) != "redis":
            raise ValueError("a Redis URL is redis://HOST[:PORT][/N][?prefix=P]")
        parts = urlsplit(url)
        prefix = dict(parse_qsl(parts.query, keep_blank_values=True)).get("prefix", "")
        return cls(urlunsplit(parts._replace(query="", fragment="")), prefix)


def by_bus_url(url: str, what: str, memory: str, redis: str) -> Any:
    """What goes with a bus URL (the bus, the rate limits, the visitors online): `memory`
    ("module:Class", made with no arguments) with `memory://`, `redis` (made with the
    parsed URL) with `redis://`. Each is imported only when chosen: redis-py is an extra."""
    if url.startswith("memory://"):
        return _named(memory)()
    if url.startswith("redis://"):
        return _named(redis)(RedisUrl.parse(url))
    scheme = url.partition("://")[0]
    raise ValueError(f"no {what} for a bus URL scheme {scheme!r} (this version supports "
                     "memory:// and redis://)")


def _named(name: str) -> Any:
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)
