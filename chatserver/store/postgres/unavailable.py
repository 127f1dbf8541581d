"""PostgreSQL that cannot take a write now: the server is unreachable, shutting down, out
of connections or of disk, or the transaction lost a conflict it kept losing. Nothing of the
refused write is stored, so the caller may send it again later: it is `unavailable` (HTTP
503), not a fault of ours. The driver's errors reach the store's callers as the
backend-neutral StorageError, saying so (as sqlite/unavailable.py does for SQLite)."""

from __future__ import annotations

import asyncpg

from chatserver.store.base import StorageError

UNREACHABLE = "the server's storage cannot be reached; try again in a moment"
_BUSY = "the server's storage is busy; try again in a moment"
# by SQLSTATE, and by its class (the first two characters)
REASONS = {
    "53100": "the server's storage is full; try again later",
    "53300": _BUSY,  # too many connections
    "40001": _BUSY,  # serialization failure
    "40P01": _BUSY,  # deadlock detected
    "57P01": UNREACHABLE,  # admin shutdown
    "57P02": UNREACHABLE,  # crash shutdown
    "57P03": UNREACHABLE,  # cannot connect now (starting up)
}
CLASSES = {"08": UNREACHABLE, "53": _BUSY}


def unavailable(error: BaseException) -> str | None:
    """Why storage refused, as an `unavailable` error's message; None for any other error."""
    if isinstance(error, OSError | TimeoutError):
        return UNREACHABLE  # refused, or timed out, on the way to the server
    code = getattr(error, "sqlstate", None)
    if not isinstance(error, asyncpg.PostgresError) or not code:
        return None
    return REASONS.get(code) or CLASSES.get(code[:2])


def for_caller(error: BaseException) -> BaseException:
    """A driver or connection error as a StorageError (caused by it); any other as it is."""
    if not isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError | OSError |
                      TimeoutError):
        return error
    failure = StorageError(str(error) or type(error).__name__, unavailable(error))
    failure.__cause__ = error
    return failure
