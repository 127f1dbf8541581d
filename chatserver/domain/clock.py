"""Time as the domain sees it: seconds since the epoch, and ISO-8601 UTC text for the wire."""

from __future__ import annotations

import math
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
    """`2026-11-25T15:40:00.123Z`: sorts as text in time order. The same text as
    `datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")`, a few times
    faster: every stored message is stamped, and most stamps fall in the last second's."""
    fraction, whole = math.modf(ts)
    micros = round(fraction * 1e6)  # as datetime rounds: to the microsecond, half to even
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    elif micros < 0:
        whole, micros = whole - 1, micros + 1_000_000
    return f"{_second(int(whole))}.{micros // 1000:03d}Z"


_last_second: tuple[int, str] = (0, "1970-01-01T00:00:00")


def _second(whole: int) -> str:
    """The text of a whole second, kept for the next stamp in it."""
    global _last_second
    if _last_second[0] != whole:
        _last_second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return _last_second[1]
