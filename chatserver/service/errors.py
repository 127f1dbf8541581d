"""How a service refuses an act: with the wire's error code, nothing stored."""

from __future__ import annotations

from collections.abc import Awaitable

from chatserver.domain.routing import RoutingError


class ChatError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def routed(action: Awaitable[None]) -> None:
    """Run a routing act of the Desk, its refusal said as a ChatError."""
    try:
        await action
    except RoutingError as error:
        raise ChatError(error.code, str(error)) from None
