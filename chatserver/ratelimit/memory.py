"""Windows in this process's memory: right for one server process (`memory://`)."""

from __future__ import annotations

from functools import partial

from chatserver.config import Limit
from chatserver.domain.limits import SlidingWindow
from chatserver.ratelimit.base import Hit


class MemoryWindow:
    def __init__(self, limit: Limit) -> None:
        self._window = SlidingWindow(limit)

    async def hit(self, key: str, now: float) -> Hit:
        if self._window.allow(key, now):
            return Hit(True, 0.0, partial(self._undo, key, now))
        return Hit(False, self._window.wait(key, now))

    async def _undo(self, key: str, at: float) -> None:
        self._window.undo(key, at)


class MemoryRateLimits:
    def __init__(self) -> None:
        self._windows: dict[str, MemoryWindow] = {}

    def window(self, name: str, limit: Limit) -> MemoryWindow:
        if name not in self._windows:
            self._windows[name] = MemoryWindow(limit)
        return self._windows[name]

    async def close(self) -> None:
        pass
