"""Visitors online in this process's memory: right for one server process (`memory://`)."""

from __future__ import annotations

from collections import Counter


class MemoryVisitorsOnline:
    def __init__(self) -> None:
        self._sockets: Counter[str] = Counter()  # visitor id -> open sockets

    async def connected(self, visitor_id: str) -> None:
        self._sockets[visitor_id] += 1

    async def disconnected(self, visitor_id: str) -> None:
        self._sockets[visitor_id] -= 1
        if self._sockets[visitor_id] <= 0:
            del self._sockets[visitor_id]

    async def online(self, visitor_id: str) -> bool:
        return self._sockets[visitor_id] > 0

    async def close(self) -> None:
        self._sockets.clear()
