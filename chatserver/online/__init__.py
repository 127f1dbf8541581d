"""Which visitors have a socket open: in this process, or in any process sharing a Redis."""

from __future__ import annotations

from chatserver.online.base import VisitorsOnline


def open_visitors_online(url: str) -> VisitorsOnline:
    """The record that goes with a bus URL: this process's with `memory://`, Redis's (shared
    by every process on that URL) with `redis://`."""
    if url.startswith("memory://"):
        from chatserver.online.memory import MemoryVisitorsOnline

        return MemoryVisitorsOnline()
    if url.startswith("redis://"):
        from chatserver.online.redis import RedisVisitorsOnline
        from chatserver.redis_url import RedisUrl

        return RedisVisitorsOnline(RedisUrl.parse(url))
    scheme = url.partition("://")[0]
    raise ValueError(f"no record of visitors online for a bus URL scheme {scheme!r} (this "
                     "version supports memory:// and redis://)")


__all__ = ["VisitorsOnline", "open_visitors_online"]
