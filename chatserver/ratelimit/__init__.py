"""Rate-limit windows: in this process, or shared through Redis by several."""

from __future__ import annotations

from chatserver.ratelimit.base import Hit, RateLimits, Window


def open_rate_limits(url: str) -> RateLimits:
    """The windows that go with a bus URL: this process's with `memory://`, Redis's (shared
    by every process on that URL) with `redis://`."""
    if url.startswith("memory://"):
        from chatserver.ratelimit.memory import MemoryRateLimits

        return MemoryRateLimits()
    if url.startswith("redis://"):
        from chatserver.ratelimit.redis import RedisRateLimits
        from chatserver.redis_url import RedisUrl

        return RedisRateLimits(RedisUrl.parse(url))
    scheme = url.partition("://")[0]
    raise ValueError(f"no rate limits for a bus URL scheme {scheme!r} (this version supports "
                     "memory:// and redis://)")


__all__ = ["Hit", "RateLimits", "Window", "open_rate_limits"]
