"""An order's times: any ISO-8601 form in, UTC text out, and only years that text can hold."""

from __future__ import annotations

import pytest

from chatserver.domain.orders import timestamp


def test_a_time_with_an_offset_or_none_is_kept_in_utc() -> None:
    assert timestamp("2026-11-25T16:40:00+01:00") == "2026-11-25T15:40:00.000Z"
    assert timestamp("2026-11-25T15:40:00") == "2026-11-25T15:40:00.000Z"


@pytest.mark.parametrize("text", [
    "0001-01-01T00:00:00Z", "0999-06-01T00:00:00Z", "1969-12-31T23:59:59Z",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999-23:59", "9999-06-01T00:00:00Z", "yesterday", "",
])
def test_a_time_outside_1970_to_9998_or_unreadable_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="from 1970 to 9998"):
        timestamp(text)
