"""The event bus: how events reach every socket that should see them, on this server or others."""

from __future__ import annotations

from chatserver.bus.base import Bus, Event, Offer, Subscription, SubscriptionOverflow
from chatserver.redis_url import by_bus_url


def open_bus(url: str) -> Bus:
    """A bus from its URL: `memory://` (in-process, the default) or `redis://HOST[:PORT][/N]
    [?prefix=P]` (several processes; needs the `redis` extra)."""
    bus: Bus = by_bus_url(url, "bus", "chatserver.bus.memory:MemoryBus",
                          "chatserver.bus.redis:RedisBus")
    return bus

__all__ = ["Bus", "Event", "Offer", "Subscription", "SubscriptionOverflow", "open_bus"]
