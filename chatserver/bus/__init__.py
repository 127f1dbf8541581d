"""The event bus: how events reach every socket that should see them, on this server or others."""

from __future__ import annotations

from chatserver.bus.base import Bus, Event, Offer, Subscription, SubscriptionOverflow


def open_bus(url: str) -> Bus:
    """A bus from its URL; `memory://` is the in-process default."""
    if url.startswith("memory://"):
        from chatserver.bus.memory import MemoryBus

        return MemoryBus()
    raise ValueError(f"unsupported bus URL {url!r} (this version supports memory://)")


__all__ = ["Bus", "Event", "Offer", "Subscription", "SubscriptionOverflow", "open_bus"]
