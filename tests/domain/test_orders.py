"""Orders coming in: any ISO-8601 time in, UTC text out; what an update leaves out is kept."""

from __future__ import annotations

import pytest

from chatserver.domain.orders import same_buyer, timestamp, with_kept_fields


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


NEW = {"external_id": "1042", "email": "maya@example.com", "product": "Course Pro",
       "amount_cents": 14900, "currency": "USD"}
NOT_FROM_A_SHOP = {"shop_refunded_cents": 0, "shop_ref": None, "shop_refunds": None,
                   "provider": "manual", "provider_payment_id": None}
STAMP = "2026-03-02T00:00:00.000Z"


def test_a_new_order_left_without_name_time_or_status_is_nameless_bought_now_and_paid() -> None:
    assert with_kept_fields(NEW, None, STAMP) == {
        **NEW, "name": None, "purchased_at": STAMP, "status": "paid", **NOT_FROM_A_SHOP}


def test_an_update_leaving_out_name_time_or_status_keeps_what_the_order_had() -> None:
    before = {**NEW, "name": "Maya Lin", "purchased_at": "2026-01-01T00:00:00.000Z",
              "status": "shipped", "shop_refunded_cents": 500, "shop_ref": "shopify:7",
              "shop_refunds": '{"1":500}', "provider": "stripe", "provider_payment_id": "pi_7"}
    assert with_kept_fields({**NEW, "amount_cents": 100}, before, STAMP) == {
        **before, "amount_cents": 100}


def test_refunds_a_shop_reports_add_up_each_once_by_id() -> None:
    before = with_kept_fields({**NEW, "shop_refunds": {"1": 500}}, None, STAMP)
    assert before["shop_refunded_cents"] == 500
    again = with_kept_fields({**NEW, "shop_refunds": {"1": 500, "2": 300}}, before, STAMP)
    assert again["shop_refunded_cents"] == 800
    # a delivery that knows fewer refunds (sent before the second one) takes none away
    assert with_kept_fields({**NEW, "shop_refunds": {"1": 500}}, again,
                            STAMP)["shop_refunded_cents"] == 800
    assert with_kept_fields({**NEW, "shop_refunds": {}}, again,
                            STAMP)["shop_refunds"] == '{"1":500,"2":300}'


def test_what_an_update_sends_replaces_what_the_order_had() -> None:
    before = {**NEW, "name": "Maya Lin", "purchased_at": STAMP, "status": "paid",
              **NOT_FROM_A_SHOP}
    sent = {**NEW, "name": "Maya L.", "status": "refunded"}
    assert with_kept_fields(sent, before, STAMP) == {**sent, "purchased_at": STAMP,
                                                     **NOT_FROM_A_SHOP}


def test_an_email_that_only_changed_case_is_the_same_buyer() -> None:
    assert same_buyer("Maya@Example.com", "maya@example.com")
    assert not same_buyer("maya@example.com", "li@example.com")
