"""Stripe against a real server (on each backend) and a local fake Stripe
(tests/fakes/stripe_server.py) that the `stripe` package is pointed at: orders imported
from signed webhooks, refunds of them made through Stripe once, with the entry's own
idempotency key, however often the request is sent, and Stripe's refund webhooks moving
them on."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.backends import query
from tests.fakes.stripe_events import (
    body,
    charge,
    checkout_session,
    event,
    refund,
    signature,
)
from tests.fakes.stripe_server import CHARGE_REFUNDED, FakeStripe, fake_stripe
from tests.web.conftest import InProcessServer

WEBHOOK_SECRET = "whsec_test_stripe"


@dataclass
class Shop:
    server: InProcessServer
    client: httpx.Client
    admin: str
    stripe: FakeStripe

    def deliver(self, found: dict[str, Any], at: int | None = None,
                secret: str = WEBHOOK_SECRET) -> httpx.Response:
        raw = body(found)
        at = int(time.time()) if at is None else at
        return self.client.post("/webhooks/stripe", content=raw, headers={
            "Content-Type": "application/json",
            "Stripe-Signature": signature(secret, raw, at)})

    def paid_order(self) -> dict[str, Any]:
        response = self.deliver(event("checkout.session.completed", checkout_session()))
        assert response.status_code == 201, response.text
        return dict(response.json()["order"])

    def refund(self, order_id: int, cents: int, key: str) -> httpx.Response:
        return self.client.post(
            f"/api/orders/{order_id}/refunds", json={"amount_cents": cents, "reason": "broken"},
            headers={"Authorization": f"Bearer {self.admin}", "Idempotency-Key": key})

    def order(self, order: dict[str, Any]) -> dict[str, Any]:
        customer = self.client.get(f"/api/customers/{order['customer_id']}",
                                   headers={"Authorization": f"Bearer {self.admin}"}).json()
        [found] = [o for o in customer["orders"] if o["id"] == order["id"]]
        return dict(found)

    def ledger(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        customer = self.client.get(f"/api/customers/{order['customer_id']}",
                                   headers={"Authorization": f"Bearer {self.admin}"}).json()
        return list(customer["ledger"])


@pytest.fixture
def shop(serve: Callable[..., InProcessServer]) -> Iterator[Shop]:
    with fake_stripe() as stripe:
        server = serve(stripe_secret_key=stripe.api_key, stripe_webhook_secret=WEBHOOK_SECRET,
                       stripe_api_base=stripe.url)
        [admin] = server.staff(("ada@example.com", "Ada", "admin"))
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield Shop(server, client, admin, stripe)


def test_a_paid_checkout_session_imports_a_stripe_order_once(shop: Shop) -> None:
    delivered = event("checkout.session.completed", checkout_session())
    first = shop.deliver(delivered)
    assert first.status_code == 201, first.text
    order = first.json()["order"]
    assert (order["external_id"], order["amount_cents"], order["currency"], order["provider"],
            order["provider_payment_id"]) == ("pi_1", 4900, "USD", "stripe", "pi_1")
    replay = shop.deliver(delivered)  # Stripe's retry: the order as it was
    assert (replay.status_code, replay.json()["order"]) == (200, order)
    same_payment = shop.deliver(event("charge.succeeded", charge()))
    assert same_payment.status_code == 200 and same_payment.json()["order"]["id"] == order["id"]
    assert query(shop.server.settings.database_url, "SELECT COUNT(*) FROM orders")[0][0] == 1


def test_an_event_older_than_the_last_one_applied_changes_nothing(shop: Shop) -> None:
    shop.paid_order()
    older = event("charge.succeeded", charge(description="Old name"), created=1000)
    assert shop.deliver(older).json() == {"ignored": True}


def test_a_bad_signature_a_stale_timestamp_and_no_signature_are_refused(shop: Shop) -> None:
    delivered = event("checkout.session.completed", checkout_session())
    assert shop.deliver(delivered, secret="whsec_other").status_code == 401
    stale = shop.deliver(delivered, at=int(time.time()) - 600)
    assert (stale.status_code, stale.json()["error"]["code"]) == (401, "bad_signature")
    unsigned = shop.client.post("/webhooks/stripe", content=body(delivered))
    assert unsigned.status_code == 401
    assert query(shop.server.settings.database_url, "SELECT COUNT(*) FROM orders")[0][0] == 0


def test_a_signed_body_that_is_not_a_json_object_is_refused_as_invalid(shop: Shop) -> None:
    """Found by fuzzing: stripe's construct_event failed on these (a 500)."""
    for raw in (b"-925303895", b"[1]", b'"event"', b"null"):
        answer = shop.client.post("/webhooks/stripe", content=raw, headers={
            "Content-Type": "application/json",
            "Stripe-Signature": signature(WEBHOOK_SECRET, raw, int(time.time()))})
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, "invalid"), raw


def test_other_events_are_acknowledged_and_ignored(shop: Shop) -> None:
    answer = shop.deliver(event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert (answer.status_code, answer.json()) == (200, {"ignored": True})


def test_a_refund_goes_through_stripe_once_with_our_key_even_when_sent_again(
        shop: Shop) -> None:
    order = shop.paid_order()
    first = shop.refund(order["id"], 2000, "k1")
    assert first.status_code == 201, first.text
    entry = first.json()["refund"]
    assert (entry["provider"], entry["provider_status"], entry["provider_refund_id"],
            entry["instructions"]) == ("stripe", "succeeded", "re_1", None)
    again = shop.refund(order["id"], 2000, "k1")
    assert (again.status_code, again.json()["refund"]["id"]) == (201, entry["id"])
    [asked] = shop.stripe.requests
    assert asked.form == {"payment_intent": "pi_1", "amount": "2000",
                          "metadata[chatserver_ledger_id]": str(entry["id"])}
    assert asked.key is not None and asked.key.startswith("chatserver-refund-")
    assert len(shop.stripe.refunds) == 1
    assert shop.order(order)["refundable_cents"] == 2900


def test_a_refund_whose_answer_was_lost_is_asked_again_with_the_same_key(shop: Shop) -> None:
    order = shop.paid_order()
    shop.stripe.drop = 3  # the package's own two retries are lost too
    first = shop.refund(order["id"], 2000, "k1")
    assert first.status_code == 201, first.text
    waiting = first.json()["refund"]
    assert (waiting["provider_status"], waiting["provider_refund_id"]) == ("pending", None)
    assert "has not answered" in waiting["instructions"]
    assert shop.order(order)["refundable_cents"] == 2900  # held while Stripe may have made it
    again = shop.refund(order["id"], 2000, "k1")
    assert (again.json()["refund"]["provider_status"],
            again.json()["refund"]["provider_refund_id"]) == ("succeeded", "re_1")
    assert len(shop.stripe.requests) == 4
    assert {seen.key for seen in shop.stripe.requests} == {shop.stripe.requests[0].key}
    assert len(shop.stripe.refunds) == 1


def test_a_refund_whose_answer_never_came_is_settled_by_stripes_webhook(shop: Shop) -> None:
    order = shop.paid_order()
    shop.stripe.drop = 3
    entry = shop.refund(order["id"], 2000, "k1").json()["refund"]
    [made] = shop.stripe.refunds.values()  # as Stripe made it, our metadata on it
    moved = shop.deliver(event("refund.created", made))
    [settled] = moved.json()["refunds"]
    assert (settled["id"], settled["provider_status"], settled["provider_refund_id"]) == (
        entry["id"], "succeeded", made["id"])


async def test_a_refund_left_without_an_answer_is_asked_for_again_by_the_server(
        shop: Shop) -> None:
    order = shop.paid_order()
    shop.stripe.drop = 3
    entry = shop.refund(order["id"], 2000, "k1").json()["refund"]
    stripe = shop.server.app.state.services.stripe
    await shop.server.on_loop(lambda: stripe.ask_again(waited=0))
    [settled] = shop.ledger(order)
    assert (settled["id"], settled["provider_status"], settled["provider_refund_id"]) == (
        entry["id"], "succeeded", "re_1")
    assert len(shop.stripe.refunds) == 1
    assert {seen.key for seen in shop.stripe.requests} == {shop.stripe.requests[0].key}


def test_a_refund_stripe_refuses_fails_and_frees_its_amount(shop: Shop) -> None:
    order = shop.paid_order()
    shop.stripe.refuse = CHARGE_REFUNDED
    refused = shop.refund(order["id"], 2000, "k1")
    assert refused.status_code == 201, refused.text
    entry = refused.json()["refund"]
    assert (entry["provider_status"], entry["provider_refund_id"]) == ("failed", None)
    assert entry["provider_error"] == "Stripe: Charge ch_1 has already been refunded."
    assert "nothing was refunded" in entry["instructions"]
    assert shop.order(order)["refundable_cents"] == 4900
    shop.stripe.refuse = None
    assert shop.refund(order["id"], 4900, "k2").json()["refund"]["provider_status"] == (
        "succeeded")


def test_stripes_webhooks_move_a_pending_refund_on_and_late_ones_change_nothing(
        shop: Shop) -> None:
    order = shop.paid_order()
    shop.stripe.status = "pending"
    entry = shop.refund(order["id"], 2000, "k1").json()["refund"]
    assert (entry["provider_status"], entry["provider_refund_id"]) == ("pending", "re_1")
    done = shop.deliver(event("refund.updated", refund("re_1", "succeeded")))
    assert [r["provider_status"] for r in done.json()["refunds"]] == ["succeeded"]
    late = shop.deliver(event("charge.refund.updated", refund("re_1", "pending")))
    assert late.json()["refunds"][0]["provider_status"] == "succeeded"
    [kept] = shop.ledger(order)
    assert kept["provider_status"] == "succeeded"
    unknown = shop.deliver(event("refund.updated", refund("re_elsewhere")))
    assert unknown.json() == {"ignored": True}


def test_a_refund_that_fails_after_it_was_made_frees_its_amount(shop: Shop) -> None:
    order = shop.paid_order()
    shop.refund(order["id"], 2000, "k1")
    failed = refund("re_1", "failed", failure_reason="lost_or_stolen_card")
    answer = shop.deliver(event("charge.refunded", charge(refunds={"data": [failed]})))
    [entry] = answer.json()["refunds"]
    assert (entry["provider_status"], entry["provider_error"]) == (
        "failed", "Stripe: lost_or_stolen_card")
    assert shop.order(order)["refundable_cents"] == 4900


def test_without_stripes_key_a_stripe_order_is_refunded_by_hand(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(stripe_webhook_secret=WEBHOOK_SECRET)
    [admin] = server.staff(("ada@example.com", "Ada", "admin"))
    with httpx.Client(base_url=server.url, timeout=10) as client, fake_stripe() as stripe:
        shop = Shop(server, client, admin, stripe)
        order = shop.paid_order()
        entry = shop.refund(order["id"], 2000, "k1").json()["refund"]
        assert (entry["provider"], entry["provider_status"]) == ("manual", None)
        assert entry["instructions"].startswith("Refund 20.00 USD on order pi_1")
        assert stripe.requests == []


def test_an_approved_refund_goes_through_stripe_when_it_is_approved(
        serve: Callable[..., InProcessServer]) -> None:
    with fake_stripe() as stripe:
        server = serve(stripe_secret_key=stripe.api_key, stripe_webhook_secret=WEBHOOK_SECRET,
                       stripe_api_base=stripe.url, supervisor_limit=1000)
        admin, sue = server.staff(("ada@example.com", "Ada", "admin"),
                                  ("sue@example.com", "Sue", "supervisor"))
        with httpx.Client(base_url=server.url, timeout=30) as client:
            order = Shop(server, client, admin, stripe).paid_order()
            asked = Shop(server, client, sue, stripe).refund(order["id"], 2000, "k1")
            assert asked.status_code == 202, asked.text
            assert stripe.requests == []
            approval = asked.json()["approval"]["id"]
            approved = client.post(f"/api/approvals/{approval}/approve", json={},
                                   headers={"Authorization": f"Bearer {admin}"})
        assert approved.status_code == 200, approved.text
        entry = approved.json()["refund"]
        assert (entry["provider_status"], entry["provider_refund_id"]) == ("succeeded", "re_1")
        assert len(stripe.requests) == 1
