"""What an order looks like coming in (REST, webhook, import file), checked field by field."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from chatserver.domain.clock import YEARS, iso
from chatserver.domain.frames import (
    FrameError,
    check_fields,
    email,
    nullable,
    schema_of,
    string,
    with_schema,
)
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


with_schema(timestamp, {"type": "string", "format": "date-time"})
with_schema(order_amount, {**schema_of(cents), "minimum": 0})


ORDER = {
    "external_id": (string(100), True, None),
    "email": (email, True, None),
    "name": (nullable(string(200, 0)), False, None),
    "product": (string(300), True, None),
    "amount_cents": (order_amount, True, None),
    "currency": (currency, True, None),
    "purchased_at": (nullable(timestamp), False, None),
    "status": (nullable(string(40)), False, None),
    # what the shop's platform reports refunded (ledger.refundable says how it counts)
    "shop_refunded_cents": (nullable(order_amount), False, None),
}
# what the store keeps of an order: ORDER's fields, for orders from a shop's platform its
# reference there ("shopify:<id>") and the refunds it reported ({refund id: cents}, JSON),
# and the payment provider that refunds it ("manual", or "stripe" with the payment's id there)
COLUMNS = (*ORDER, "shop_ref", "shop_refunds", "provider", "provider_payment_id")


def with_kept_fields(fields: dict[str, Any], before: Mapping[str, Any] | None,
                     stamp: str) -> dict[str, Any]:
    """The order to save, every one of COLUMNS: a field left out keeps what the order had
    (for a new order: `purchased_at` is `stamp`, `status` "paid", nothing refunded by the
    shop). Refunds a shop's platform reports (`shop_refunds`, {refund id: cents}) are added
    to those it reported before, each once by its id, and make `shop_refunded_cents`: a
    delivery repeated, or one that knows fewer refunds, takes nothing away."""
    kept: dict[str, Any] = {"name": None, "purchased_at": stamp, "status": "paid",
                            "shop_refunded_cents": 0, "shop_ref": None, "shop_refunds": None,
                            "provider": "manual", "provider_payment_id": None}
    if before is not None:
        kept = {k: before[k] for k in kept}
    saved = {**fields, **{k: v for k, v in kept.items() if fields.get(k) is None}}
    reported = fields.get("shop_refunds")
    if isinstance(reported, dict):
        refunds = {**orjson.loads(kept["shop_refunds"] or "{}"), **reported}
        saved["shop_refunds"] = orjson.dumps(refunds, option=orjson.OPT_SORT_KEYS).decode()
        saved["shop_refunded_cents"] = sum(refunds.values())
    return saved


def refund_elsewhere(before: Mapping[str, Any], refund_id: str, cents: int) -> dict[str, Any]:
    """The order's fields with one more refund its shop's platform reports (by its id, so
    the same refund twice counts once)."""
    return {**{k: before[k] for k in COLUMNS}, "shop_refunds": {refund_id: cents}}


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
        problem = None
        for key in ("amount_cents", "shop_refunded_cents"):
            cell = values.get(key)
            if isinstance(cell, str):
                try:
                    values[key] = int(cell)
                except ValueError:
                    problem = f"{key} must be a whole number of minor units"
        if problem is not None:
            yield reader.line_num, problem
            continue
        yield reader.line_num, {k: v for k, v in values.items() if v is not None}
