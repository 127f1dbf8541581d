"""Storage that cannot take a write now: the disk is full, or another connection held the
write lock past the busy timeout. Nothing of the refused write is stored, so the caller may
send it again later: it is `unavailable` (HTTP 503), not a fault of ours."""

from __future__ import annotations

import sqlite3

RETRY_AFTER_SECONDS = 10

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
