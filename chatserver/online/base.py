"""Which visitors have a socket open, as every process serving the site sees it. Every
backend passes tests/online, which defines them."""

from __future__ import annotations

from typing import Protocol


class VisitorsOnline(Protocol):
    async def connected(self, visitor_id: str) -> None:
        """One more socket of the visitor's is open in this process."""
        ...

    async def disconnected(self, visitor_id: str) -> None:
        """One of the visitor's sockets in this process closed."""
        ...

    async def online(self, visitor_id: str) -> bool:
        """Whether the visitor has a socket open in any process."""
        ...

    async def close(self) -> None:
        """Forget this process's sockets (the other processes stop counting them)."""
        ...
