"""A Redis URL as the bus and the shared rate limits take it: `redis://HOST[:PORT][/N]`,
optionally `?prefix=P`, which starts every channel and key name (one Redis may serve several
deployments, or test runs: pub/sub ignores the database number)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit, urlunsplit

PREFIX = re.compile(r"[!-~]*")  # printable ASCII, no spaces: it also names our connections


@dataclass(frozen=True)
class RedisUrl:
    address: str  # the URL without its query, as redis-py takes it
    prefix: str

    @classmethod
    def parse(cls, url: str) -> RedisUrl:
        parts = urlsplit(url)
        if parts.scheme != "redis" or not parts.hostname:
            raise ValueError("a Redis URL is redis://HOST[:PORT][/N][?prefix=P]")
        if parts.path not in ("", "/") and not re.fullmatch(r"/\d+", parts.path):
            raise ValueError(f"a Redis URL's path is a database number, not {parts.path!r}")
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = set(query) - {"prefix"}
        if unknown:
            raise ValueError(f"a Redis URL takes only ?prefix=, not {sorted(unknown)}")
        prefixes = query.get("prefix", [""])
        if len(prefixes) != 1 or not PREFIX.fullmatch(prefixes[0]):
            raise ValueError("a Redis URL's prefix is one run of printable ASCII, no spaces")
        return cls(urlunsplit(parts._replace(query="", fragment="")), prefixes[0])
