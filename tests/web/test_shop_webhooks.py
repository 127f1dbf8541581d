"""Shopify's and WooCommerce's order webhooks against a real server (on each backend): their
signatures, and orders created, paid, cancelled and refunded in the shop changing what may be
refunded in the chat, as `GET /api/customers/{id}` shows it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.backends import query
from tests.shop_payloads import load, signed
from tests.web.conftest import InProcessServer

SHOPIFY_SECRET = "shpss-test"
WOO_SECRET = "wcsec-test"


@dataclass
class Shops:
    server: InProcessServer
    client: httpx.Client
    admin: str  # an admin's API token

    def shopify(self, topic: str, payload: dict[str, Any], secret: str = SHOPIFY_SECRET,
                signature: str | None = None) -> httpx.Response:
        raw, good = signed(secret, payload)
        return self.client.post("/webhooks/shopify", content=raw, headers={
            "Content-Type": "application/json", "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": good if signature is None else signature})

    def woocommerce(self, payload: dict[str, Any], topic: str = "order.updated",
                    secret: str = WOO_SECRET) -> httpx.Response:
        raw, signature = signed(secret, payload)
        return self.client.post("/webhooks/woocommerce", content=raw, headers={
            "Content-Type": "application/json", "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Signature": signature})

    def order(self, response: httpx.Response) -> dict[str, Any]:
        """The order the webhook saved, as the customer's record shows it now."""
        assert response.status_code in (200, 201), response.text
        saved = response.json()["order"]
        customer = self.client.get(f"/api/customers/{saved['customer_id']}",
                                   headers={"Authorization": f"Bearer {self.admin}"}).json()
        [found] = [o for o in customer["orders"] if o["id"] == saved["id"]]
        return dict(found)

    def refund_in_chat(self, order_id: int, cents: int) -> None:
        response = self.client.post(
            f"/api/orders/{order_id}/refunds", json={"amount_cents": cents, "reason": "broken"},
            headers={"Authorization": f"Bearer {self.admin}", "Idempotency-Key": f"k{cents}"})
        assert response.status_code == 201, response.text

    def count(self) -> int:
        return int(query(self.server.settings.database_url,
                         "SELECT COUNT(*) FROM orders")[0][0])


@pytest.fixture
def shops(serve: Callable[..., InProcessServer]) -> Iterator[Shops]:
    server = serve(shopify_webhook_secret=SHOPIFY_SECRET,
                   woocommerce_webhook_secret=WOO_SECRET)
    [admin] = server.staff(("ada@example.com", "Ada", "admin"))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield Shops(server, client, admin)


PAID = load("shopify_order")
REFUND = load("shopify_refund")


def later(payload: dict[str, Any], minutes: int, **changes: Any) -> dict[str, Any]:
    """The Shopify order as delivered after a change `minutes` later."""
    return {**payload, **changes, "updated_at": f"2026-11-20T16:{15 + minutes:02d}:47-05:00"}


def test_a_signed_shopify_order_is_saved_under_the_number_on_the_receipt(shops: Shops) -> None:
    response = shops.shopify("orders/create", PAID)
    assert response.status_code == 201, response.text
    order = shops.order(response)
    assert (order["external_id"], order["amount_cents"], order["refundable_cents"],
            order["shop_refunded_cents"]) == ("1001", 59894, 59894, 0)


def test_a_bad_or_missing_shopify_signature_is_401_and_saves_nothing(shops: Shops) -> None:
    _raw, good = signed(SHOPIFY_SECRET, PAID)
    for signature in ("", "not base64", good.lower(), signed("other", PAID)[1]):
        response = shops.shopify("orders/create", PAID, signature=signature)
        assert response.status_code == 401, signature
        assert response.json()["error"]["code"] == "bad_signature"
    assert shops.shopify("orders/create", PAID, secret="other").status_code == 401
    assert shops.count() == 0


def test_without_secrets_every_shop_delivery_is_401(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(shopify_webhook_secret=None, woocommerce_webhook_secret=None)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        bare = Shops(server, client, "")
        assert bare.shopify("orders/create", PAID, secret="").status_code == 401
        assert bare.woocommerce(load("woocommerce_order"), secret="").status_code == 401
        assert bare.count() == 0


def test_unpaid_then_paid_then_refunded_in_shopify_then_cancelled(shops: Shops) -> None:
    pending = shops.order(shops.shopify("orders/create", {**PAID, "financial_status": "pending"}))
    assert pending["refundable_cents"] == 0
    assert shops.order(shops.shopify("orders/paid", later(PAID, 1)))["refundable_cents"] == 59894
    refunded = shops.order(shops.shopify("refunds/create", REFUND))
    assert (refunded["shop_refunded_cents"], refunded["refundable_cents"]) == (20900, 38994)
    cancelled = later(PAID, 3, cancelled_at="2026-11-20T16:18:47-05:00",
                      financial_status="refunded",
                      refunds=[REFUND, {"id": 2, "transactions": [{
                          "kind": "refund", "status": "success", "amount": "389.94",
                          "currency": "USD"}]}])
    order = shops.order(shops.shopify("orders/cancelled", cancelled))
    assert (order["status"], order["shop_refunded_cents"], order["refundable_cents"]) == (
        "cancelled", 59894, 0)


def test_a_refund_given_in_the_chat_then_reported_by_shopify_counts_once(shops: Shops) -> None:
    order = shops.order(shops.shopify("orders/create", PAID))
    shops.refund_in_chat(order["id"], 20900)  # the manual provider: done in Shopify's admin
    assert shops.order(shops.shopify("refunds/create", REFUND))["refundable_cents"] == 38994
    over = shops.client.post(
        f"/api/orders/{order['id']}/refunds", json={"amount_cents": 38995, "reason": "x"},
        headers={"Authorization": f"Bearer {shops.admin}", "Idempotency-Key": "over"})
    assert over.status_code == 409


def test_replays_and_late_deliveries_change_nothing(shops: Shops) -> None:
    shops.shopify("orders/create", PAID)
    shops.shopify("orders/updated", later(PAID, 5, total_price="500.00"))
    for stale in (PAID, later(PAID, 2, total_price="1.00")):  # sent before, arrived after
        late = shops.shopify("orders/updated", stale)
        assert (late.status_code, late.json()) == (200, {"ignored": True})
    again = shops.shopify("orders/updated", later(PAID, 5, total_price="500.00"))
    assert again.status_code == 200
    for _ in range(2):
        order = shops.order(shops.shopify("refunds/create", REFUND))
    assert (order["amount_cents"], order["shop_refunded_cents"], order["refundable_cents"]) == (
        50000, 20900, 29100)


def test_a_refund_of_an_order_not_seen_yet_is_acknowledged_and_comes_with_it(
        shops: Shops) -> None:
    early = shops.shopify("refunds/create", REFUND)
    assert (early.status_code, early.json()) == (200, {"ignored": True})
    order = shops.order(shops.shopify("orders/updated", later(PAID, 6, refunds=[REFUND])))
    assert order["refundable_cents"] == 38994


def test_an_update_the_rules_refuse_is_409(shops: Shops) -> None:
    order = shops.order(shops.shopify("orders/create", PAID))
    shops.refund_in_chat(order["id"], 30000)
    lower = shops.shopify("orders/updated", later(PAID, 1, total_price="200.00"))
    assert lower.status_code == 409
    assert lower.json()["error"]["code"] == "amount_below_refunded"
    euros = shops.shopify("orders/updated", later(PAID, 2, currency="EUR"))
    assert (euros.status_code, euros.json()["error"]["code"]) == (409, "currency_locked")


def test_an_unreadable_shopify_order_is_422_and_other_topics_are_ignored(
        shops: Shops) -> None:
    response = shops.shopify("orders/create", {**PAID, "total_price": 598.94})
    assert response.status_code == 422 and "total_price" in response.json()["error"]["message"]
    other = shops.shopify("products/update", {"id": 1})
    assert (other.status_code, other.json()) == (200, {"ignored": True})
    till = shops.shopify("orders/create", {**PAID, "email": None, "customer": None})
    assert (till.status_code, till.json()["ignored"]) == (200, True)  # no retries for ever
    assert shops.count() == 0


def test_woocommerces_ping_is_answered_so_the_webhook_can_be_saved(shops: Shops) -> None:
    response = shops.client.post("/webhooks/woocommerce", content=b"webhook_id=15", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert shops.count() == 0


def test_a_woocommerce_order_and_its_refunds_change_what_may_be_refunded(shops: Shops) -> None:
    woo = load("woocommerce_order")
    created = shops.woocommerce(woo, topic="order.created")
    assert created.status_code == 201, created.text
    assert shops.order(created)["refundable_cents"] == 2935
    refunded = {**woo, "date_modified_gmt": "2026-11-21T10:00:00", "status": "refunded",
                "refunds": [{"id": 730, "total": "-29.35"}]}
    assert shops.order(shops.woocommerce(refunded))["refundable_cents"] == 0
    unsigned = shops.client.post("/webhooks/woocommerce", json=woo,
                                 headers={"X-WC-Webhook-Topic": "order.updated"})
    assert unsigned.status_code == 401
    bad = shops.woocommerce(woo, secret="other")
    assert bad.status_code == 401


def test_a_woocommerce_order_never_paid_has_nothing_to_refund(shops: Shops) -> None:
    failed = {**load("woocommerce_order"), "status": "failed", "date_paid_gmt": None,
              "number": "W-9"}
    assert shops.order(shops.woocommerce(failed, "order.created"))["refundable_cents"] == 0


def test_a_shops_refunds_may_also_come_as_a_total_in_our_own_order_body(shops: Shops) -> None:
    body = {"external_id": "1042", "email": "maya@example.com", "product": "Course Pro",
            "amount_cents": 10000, "currency": "USD", "shop_refunded_cents": 4000}
    headers = {"Authorization": f"Bearer {shops.admin}"}
    created = shops.client.post("/api/orders", json=body, headers=headers)
    assert shops.order(created)["refundable_cents"] == 6000
    body.pop("shop_refunded_cents")
    kept = shops.client.post("/api/orders", json={**body, "status": "shipped"}, headers=headers)
    assert shops.order(kept)["shop_refunded_cents"] == 4000
