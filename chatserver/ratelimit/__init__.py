"""Rate-limit windows: in this process, or shared through Redis by several."""

from __future__ import annotations

from chatserver.ratelimit.base import Hit, RateLimits, Window
from chatserver.redis_url import by_bus_url


def open_rate_limits(url: str) -> RateLimits:
    """The windows that go with a bus URL: this process's with `memory://`, Redis's (shared
    by every process on that URL) with `redis://`."""
    limits: RateLimits = by_bus_url(url, "rate limits",
                                    "chatserver.ratelimit.memory:MemoryRateLimits",
                                    "chatserver.ratelimit.redis:RedisRateLimits")
    return limits

__all__ = ["Hit", "RateLimits", "Window", "open_rate_limits"]
