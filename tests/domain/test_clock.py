"""Times written for the wire and the database: the same text datetime would write, in the
same order as the times, whatever the second, the millisecond or the rounding."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from chatserver.domain.clock import iso, parse


def by_datetime(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def test_a_stamp_is_the_text_datetime_writes_even_at_the_edges_of_a_second() -> None:
    rng = random.Random(7)
    times = [rng.uniform(0, 253_402_300_799) for _ in range(20_000)]
    times += [1_764_860_000 + n / 1000 for n in range(3_000)]  # every millisecond, in order
    times += [t + edge for t in (0, 1_764_860_000, 1_764_860_059)
              for edge in (0.0, 1e-7, 0.0004999, 0.0005, 0.9994999, 0.9995, 0.9999995, -0.5)]
    assert [iso(t) for t in times] == [by_datetime(t) for t in times]


def test_stamps_sort_as_their_times_and_read_back() -> None:
    times = [1_764_860_000 + n * 0.0007 for n in range(5_000)]
    stamps = [iso(t) for t in times]
    assert stamps == sorted(stamps)
    assert iso(parse(iso(1_764_860_000.25))) == "2025-12-04T14:53:20.250Z"
