"""Which visitors have a socket open: in this process, or in any process sharing a Redis."""

from __future__ import annotations

from chatserver.online.base import VisitorsOnline
from chatserver.redis_url import by_bus_url


def open_visitors_online(url: str) -> VisitorsOnline:
    """The record that goes with a bus URL: this process's with `memory://`, Redis's (shared
    by every process on that URL) with `redis://`."""
    online: VisitorsOnline = by_bus_url(url, "record of visitors online",
                                        "chatserver.online.memory:MemoryVisitorsOnline",
                                        "chatserver.online.redis:RedisVisitorsOnline")
    return online

__all__ = ["VisitorsOnline", "open_visitors_online"]
