"""Sign-in failures, counted where every process that serves the console can see them."""

from __future__ import annotations

from chatserver.redis_url import by_bus_url
from chatserver.signins.base import SignIns


def open_sign_ins(url: str) -> SignIns:
    """The failures that go with a bus URL: this process's with `memory://`, Redis's (shared
    by every process on that URL) with `redis://`."""
    sign_ins: SignIns = by_bus_url(url, "sign-in throttle",
                                   "chatserver.signins.memory:MemorySignIns",
                                   "chatserver.signins.redis:RedisSignIns")
    return sign_ins

__all__ = ["SignIns", "open_sign_ins"]
