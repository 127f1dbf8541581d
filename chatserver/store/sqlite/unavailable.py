"""Storage that cannot take a write now: the disk is full, or another connection held the
write lock past the busy timeout. Nothing of the refused write is stored, so the caller may
send it again later: it is `unavailable` (HTTP 503), not a fault of ours. SQLite's errors
reach the store's callers as the backend-neutral StorageError, saying so."""

from __future__ import annotations

import sqlite3

from chatserver.store.base import StorageError

_BUSY = "the server's storage is busy; try again in a moment"
REASONS = {
    sqlite3.SQLITE_FULL: "the server's storage is full; try again later",
    sqlite3.SQLITE_BUSY: _BUSY,
    sqlite3.SQLITE_LOCKED: _BUSY,
}


def unavailable(error: BaseException) -> str | None:
    """Why storage refused, as an `unavailable` error's message; None for any other error."""
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else REASONS.get(code & 0xFF)  # the primary code


def for_caller(error: BaseException) -> BaseException:
    """A SQLite error as a StorageError (caused by it); any other error as it is."""
    if not isinstance(error, sqlite3.Error):
        return error
    failure = StorageError(str(error), unavailable(error))
    failure.__cause__ = error
    return failure
