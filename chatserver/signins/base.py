"""The sign-in throttle's record (rules: `chatserver/domain/throttle.py`). Every backend
passes tests/signins, which defines it. Time is the caller's (the app's clock)."""

from __future__ import annotations

from typing import Protocol


class SignIns(Protocol):
    async def attempt(self, email: str, address: str, now: float) -> float:
        """Seconds before `address` may try to sign in as `email`; 0: try now, and the try
        counts as a failure until it `succeeded` (so tries made at once are counted at
        once, in every process)."""
        ...

    async def succeeded(self, email: str, address: str, now: float) -> None:
        """The try was right: the account starts over and trusts this address."""
        ...

    async def close(self) -> None:
        ...
