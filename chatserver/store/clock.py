"""The time the store stamps on conversations and messages, whatever the backend. Backends
call `clock.now()` through this module, so a test pins it for all of them by replacing
`now` here (tests/conftest.py's `store_clock`)."""

from __future__ import annotations

from chatserver.domain import clock


def now() -> float:
    return clock.now()
