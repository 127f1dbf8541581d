"""Time as the domain sees it: seconds since the epoch, and ISO-8601 UTC text for the wire."""

from __future__ import annotations

import time
from datetime import UTC, datetime

# the years whose times `iso` writes as text that sorts in time order (and that the
# calendar can shift to UTC): what times and dates coming in must fall within
YEARS = range(1970, 9999)


def now() -> float:
    return time.time()


def parse(text: str) -> float:
    """The inverse of `iso`: seconds since the epoch."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def iso(ts: float) -> str:
    """`2026-11-25T15:40:00.123Z`: sorts as text in time order."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
