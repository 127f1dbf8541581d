"""Shopify's and WooCommerce's order payloads as our orders: what is quoted in the chat, what
was paid (exactly, in the currency's minor units), what the platform refunded."""

from __future__ import annotations

from datetime import datetime

import pytest

from chatserver.domain import shops
from chatserver.domain.errors import Refused
from chatserver.domain.money import MoneyError, minor_units
from tests.shop_payloads import load, signed


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def test_a_shopify_order_is_the_number_on_the_receipt_with_what_was_paid() -> None:
    order = shops.shopify_order(load("shopify_order"))
    assert order.fields == {
        "external_id": "1001", "email": "bob.norman@mail.example.com", "name": "Bob Norman",
        "product": "IPod Nano - 8gb, IPod Nano - 8gb (2)", "amount_cents": 59894,
        "currency": "USD", "purchased_at": "2026-11-20T21:15:47.000Z", "status": "paid",
        "shop_refunded_cents": None, "shop_ref": "shopify:450789469", "shop_refunds": {}}
    # updated_at, for replays and late deliveries
    assert order.changed_at == at("2026-11-20T21:15:47+00:00")


def test_a_shopify_order_names_its_refunds_by_id_counting_successful_refund_money() -> None:
    refund = load("shopify_refund")
    failed = {**refund["transactions"][0], "status": "failure", "amount": "99.00"}
    payload = load("shopify_order", financial_status="partially_refunded",
                   refunds=[{**refund, "transactions": [*refund["transactions"], failed]}])
    assert shops.shopify_order(payload).fields["shop_refunds"] == {"509562969": 20900}


@pytest.mark.parametrize("status", ["pending", "authorized", "voided", "expired"])
def test_an_unpaid_shopify_order_has_nothing_to_refund(status: str) -> None:
    payload = load("shopify_order", financial_status=status)
    assert shops.shopify_order(payload).fields["amount_cents"] == 0


def test_a_partly_paid_shopify_order_counts_what_was_paid() -> None:
    payload = load("shopify_order", financial_status="partially_paid",
                   total_outstanding="98.94")
    assert shops.shopify_order(payload).fields["amount_cents"] == 50000


def test_a_cancelled_shopify_order_says_so() -> None:
    payload = load("shopify_order", cancelled_at="2026-11-21T10:00:00-05:00",
                   financial_status="refunded")
    assert shops.shopify_order(payload).fields["status"] == "cancelled"


def test_a_shopify_refund_is_its_money_for_the_order_it_names() -> None:
    assert shops.shopify_refund(load("shopify_refund")) == shops.ShopRefund(
        "shopify:450789469", "509562969", 20900)


def test_yen_have_no_minor_unit_and_amounts_are_never_floats() -> None:
    payload = load("shopify_order", currency="JPY", total_price="1500",
                   total_outstanding="0")
    assert shops.shopify_order(payload).fields["amount_cents"] == 1500
    assert minor_units("0.1", "USD") + minor_units("0.2", "USD") == minor_units("0.3", "USD")
    assert minor_units("1.234", "KWD") == 1234
    for bad, code in [("1.5", "JPY"), ("1.001", "USD"), ("-1.00", "USD"), ("NaN", "USD"),
                      ("abc", "USD")]:
        with pytest.raises(MoneyError):
            minor_units(bad, code)
    with pytest.raises(MoneyError):
        minor_units(19.99, "USD")


def test_a_long_list_of_items_is_cut_to_the_products_limit() -> None:
    items = [{"title": f"Poster number {n}", "quantity": 1} for n in range(40)]
    product = shops.shopify_order(load("shopify_order", line_items=items)).fields["product"]
    assert len(product) == 300 and product.endswith("…")


def test_a_woocommerce_order_is_its_number_with_its_refunds() -> None:
    payload = load("woocommerce_order", refunds=[{"id": 726, "reason": "", "total": "-5.00"}])
    order = shops.woocommerce_order(payload)
    assert order.fields == {
        "external_id": "727", "email": "john.doe@example.com", "name": "John Doe",
        "product": "Woo Single #1 (2), Ship Your Idea - Color: Black, Size: M Test",
        "amount_cents": 2935, "currency": "USD", "purchased_at": "2026-11-20T19:49:02.000Z",
        "status": "processing", "shop_refunded_cents": None, "shop_ref": "woocommerce:727",
        "shop_refunds": {"726": 500}}
    assert order.changed_at == at("2026-11-20T19:49:02+00:00")  # date_modified_gmt is UTC


@pytest.mark.parametrize("status", ["pending", "on-hold", "failed", "cancelled"])
def test_a_woocommerce_order_never_paid_has_nothing_to_refund(status: str) -> None:
    payload = load("woocommerce_order", status=status, date_paid_gmt=None)
    assert shops.woocommerce_order(payload).fields["amount_cents"] == 0


def test_a_woocommerce_order_cancelled_after_payment_keeps_what_was_paid() -> None:
    payload = load("woocommerce_order", status="cancelled")
    assert shops.woocommerce_order(payload).fields["amount_cents"] == 2935


@pytest.mark.parametrize("change", [
    {"email": "not an address"}, {"currency": "XXX"}, {"total_price": 598.94},
    {"updated_at": "soon"}, {"id": None}, {"name": None, "order_number": None},
])
def test_a_shopify_payload_missing_what_an_order_needs_is_refused(change: dict) -> None:
    payload = load("shopify_order", **change)
    payload["customer"] = {}
    with pytest.raises(Refused) as error:
        shops.shopify_order(payload)
    assert error.value.status == 422


def test_an_order_without_a_buyers_email_is_no_order_for_the_chat() -> None:
    with pytest.raises(shops.NoBuyer):
        shops.shopify_order({**load("shopify_order"), "email": None, "customer": None})
    with pytest.raises(shops.NoBuyer):
        shops.woocommerce_order({**load("woocommerce_order"), "billing": {"email": ""}})


def test_a_signature_is_the_base64_hmac_of_the_raw_body() -> None:
    raw, signature = signed("shpss_test", load("woocommerce_order"))
    shops.verify("shpss_test", raw, signature, "X-WC-Webhook-Signature")
    for secret, body, sent in [("other", raw, signature), ("shpss_test", raw + b" ", signature),
                               ("shpss_test", raw, None), (None, raw, signature),
                               ("", raw, signature)]:
        with pytest.raises(Refused) as error:
            shops.verify(secret, body, sent, "X-WC-Webhook-Signature")
        assert error.value.status == 401


def test_woocommerces_ping_is_told_apart_from_an_order() -> None:
    assert shops.is_woocommerce_ping(b"webhook_id=15")
    assert not shops.is_woocommerce_ping(b'{"id": 727}')


def test_an_order_id_with_a_nul_character_names_no_id() -> None:
    payload = {**load("shopify_order"), "id": "450\u0000789469"}
    with pytest.raises(Refused) as refused:
        shops.shopify_order(payload)
    assert (refused.value.status, refused.value.code) == (422, "invalid")
