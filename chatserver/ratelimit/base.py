"""Rate-limit windows, counted where every process that serves the site can see them.

A window allows `limit.count` hits per key in any `limit.seconds` (see
`domain/limits.py`). Time is the caller's, passed in: one clock decides (the app's, never the
backend's), and tests can pin it. Every backend passes tests/ratelimit, which defines them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from chatserver.config import Limit


@dataclass(frozen=True)
class Hit:
    """One event counted against a window, or refused."""

    allowed: bool
    retry_after: float = 0.0  # seconds until the key may have one more; 0.0 when allowed
    _take_back: Callable[[], Awaitable[None]] | None = None

    async def undo(self) -> None:
        """Take the event back: it turned out not to be a new one (harmless when refused)."""
        if self._take_back is not None:
            await self._take_back()


class Window(Protocol):
    async def hit(self, key: str, now: float) -> Hit:
        """Count one event for `key` at `now`, unless that would exceed the limit."""
        ...


class RateLimits(Protocol):
    def window(self, name: str, limit: Limit) -> Window:
        """The window called `name`: the same one in every process given the same name."""
        ...

    async def close(self) -> None:
        ...
