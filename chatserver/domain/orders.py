"""What an order looks like coming in (REST, webhook, import file), checked field by field."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from chatserver.domain.clock import YEARS, iso
from chatserver.domain.frames import FrameError, check_fields, email, nullable, string
from chatserver.domain.ledger import parse_time
from chatserver.domain.money import cents, currency


def timestamp(value: Any) -> str:
    """An ISO-8601 time within `clock.YEARS`, kept as UTC with a Z."""
    try:
        moment = parse_time(value) if isinstance(value, str) else None
    except (ValueError, OverflowError):  # OverflowError: past the calendar's ends in UTC
        moment = None
    if moment is None or moment.year not in YEARS:
        raise ValueError(f"must be an ISO-8601 time from {YEARS[0]} to {YEARS[-1]}, "
                         "like 2026-11-25T15:40:00Z")
    return iso(moment.timestamp())


def order_amount(value: Any) -> int:
    return cents(value, allow_zero=True)  # a free order can still be verified


ORDER = {
    "external_id": (string(100), True, None),
    "email": (email, True, None),
    "name": (nullable(string(200, 0)), False, None),
    "product": (string(300), True, None),
    "amount_cents": (order_amount, True, None),
    "currency": (currency, True, None),
    "purchased_at": (nullable(timestamp), False, None),
    "status": (nullable(string(40)), False, None),
}


def with_kept_fields(fields: dict[str, Any], before: Mapping[str, Any] | None,
                     stamp: str) -> dict[str, Any]:
    """The order to save: a `name`, `purchased_at` or `status` left out keeps what the order
    had (none, `stamp` and "paid" for a new order)."""
    kept = {"name": before["name"] if before else None,
            "purchased_at": before["purchased_at"] if before else stamp,
            "status": before["status"] if before else "paid"}
    return {**fields, **{k: v for k, v in kept.items() if fields.get(k) is None}}


def same_buyer(email_before: str, email_now: str) -> bool:
    """An order whose email only changed case stays with its customer record (which a merge
    may have given another email)."""
    return email_before.lower() == email_now.lower()


def read_orders(text: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Each order of a CSV file (with a header row) or of JSON lines, as (line number,
    checked order, None), or (line number, None, what is wrong with it)."""
    rows = _json_lines(text) if text.lstrip().startswith("{") else _csv_rows(text)
    for line, row in rows:
        if isinstance(row, str):
            yield line, None, row
            continue
        try:
            yield line, check_fields(row, ORDER, "order"), None
        except FrameError as error:
            yield line, None, error.message


def _json_lines(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = orjson.loads(raw)
        except orjson.JSONDecodeError:
            yield line, "not valid JSON"
            continue
        yield line, row if isinstance(row, dict) else "not a JSON object"


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        values = {k.strip(): (v.strip() or None) if isinstance(v, str) else v
                  for k, v in row.items() if k}
        amount = values.get("amount_cents")
        if isinstance(amount, str):
            try:
                values["amount_cents"] = int(amount)
            except ValueError:
                yield reader.line_num, "amount_cents must be a whole number of minor units"
                continue
        yield reader.line_num, {k: v for k, v in values.items() if v is not None}
