"""The event bus: how events reach every socket that should see them, on this server or others."""

from __future__ import annotations

from chatserver.bus.base import Bus, Event, Offer, Subscription, SubscriptionOverflow


def open_bus(url: str) -> Bus:
    """A bus from its URL: `memory://` (in-process, the default) or `redis://HOST[:PORT][/N]
    [?prefix=P]` (several processes; needs the `redis` extra)."""
    if url.startswith("memory://"):
        from chatserver.bus.memory import MemoryBus

        return MemoryBus()
    if url.startswith("redis://"):
        from chatserver.bus.redis import RedisBus
        from chatserver.redis_url import RedisUrl

        return RedisBus(RedisUrl.parse(url))
    scheme = url.partition("://")[0]
    raise ValueError(f"unsupported bus URL scheme {scheme!r} (this version supports memory:// "
                     "and redis://)")


__all__ = ["Bus", "Event", "Offer", "Subscription", "SubscriptionOverflow", "open_bus"]
