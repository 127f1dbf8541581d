"""Stripe's events as our orders and refund reports, and how reports move a refund on."""

from __future__ import annotations

import pytest

from chatserver.domain import provider_refunds, stripe_events
from chatserver.domain.errors import Refused
from chatserver.domain.money import Money
from chatserver.domain.provider_refunds import WAITING, RefundState, Reported
from chatserver.domain.shops import NoBuyer
from tests.fakes.stripe_events import charge, checkout_session, refund


def test_a_paid_checkout_session_is_an_order_of_its_payment_intent() -> None:
    order = stripe_events.order_of("checkout.session.completed", checkout_session(), 1700)
    assert order.changed_at == 1700
    assert {k: v for k, v in order.fields.items() if v is not None} == {
        "external_id": "pi_1", "email": "maya@example.com", "name": "Maya Lin",
        "product": "Stripe payment", "amount_cents": 4900, "currency": "USD",
        "purchased_at": "2025-12-03T22:12:20.000Z", "status": "paid",
        "provider": "stripe", "provider_payment_id": "pi_1"}


def test_the_shops_own_order_number_names_the_order_when_the_payment_carries_it() -> None:
    session = checkout_session(client_reference_id="1042")
    assert stripe_events.order_of("checkout.session.completed", session, 1)\
        .fields["external_id"] == "1042"
    paid = charge(metadata={"order_id": "1043", "product": "Mug"})
    fields = stripe_events.order_of("charge.succeeded", paid, 1).fields
    assert (fields["external_id"], fields["product"]) == ("1043", "Mug")


def test_a_session_not_paid_yet_has_nothing_to_refund() -> None:
    session = checkout_session(payment_status="unpaid")
    fields = stripe_events.order_of("checkout.session.completed", session, 1).fields
    assert (fields["amount_cents"], fields["status"]) == (0, "unpaid")


def test_a_charge_without_a_payment_intent_is_refunded_by_its_own_id() -> None:
    fields = stripe_events.order_of("charge.succeeded", charge(payment_intent=None), 1).fields
    assert (fields["external_id"], fields["provider_payment_id"]) == ("ch_1", "ch_1")
    assert fields["product"] == "Course Pro"


def test_a_payment_without_an_email_is_not_an_order_and_a_bad_currency_is_refused() -> None:
    with pytest.raises(NoBuyer):
        stripe_events.order_of("charge.succeeded", charge(billing_details={}), 1)
    with pytest.raises(Refused):
        stripe_events.order_of("charge.succeeded", charge(currency="xyz"), 1)


def test_refund_events_report_stripes_statuses_as_ours() -> None:
    assert stripe_events.refunds_of("refund.updated", refund(status="requires_action")) == [
        Reported(RefundState("re_1", "pending"))]
    failed = refund(status="failed", failure_reason="expired_or_canceled_card",
                    metadata={"chatserver_ledger_id": "7"})
    assert stripe_events.refunds_of("charge.refund.updated", failed) == [
        Reported(RefundState("re_1", "failed", "Stripe: expired_or_canceled_card"), 7)]
    charged = charge(refunds={"object": "list", "data": [refund(), refund("re_2", "canceled")]})
    assert stripe_events.refunds_of("charge.refunded", charged) == [
        Reported(RefundState("re_1", "succeeded")),
        Reported(RefundState("re_2", "failed", "Stripe: canceled"))]
    assert stripe_events.refunds_of("charge.refunded", charge()) == []


def test_a_refund_only_moves_forward() -> None:
    made = provider_refunds.after(WAITING, RefundState("re_1", "pending"))
    assert made == RefundState("re_1", "pending")
    done = provider_refunds.after(made, RefundState("re_1", "succeeded"))
    assert done == RefundState("re_1", "succeeded")
    assert provider_refunds.after(done, RefundState("re_1", "pending")) is None  # late
    assert provider_refunds.after(done, RefundState("re_1", "succeeded")) is None  # replay
    assert provider_refunds.after(done, RefundState("re_1", "failed", "x")) == RefundState(
        "re_1", "failed", "x")


def test_the_visitor_hears_of_a_refund_once_it_is_made_and_again_only_if_it_fails() -> None:
    money = Money(2000, "USD")
    made = RefundState("re_1", "pending")
    assert provider_refunds.notice(WAITING, made, money, "1042") == (
        "A refund of 20.00 USD for order 1042 has been issued.")
    assert provider_refunds.notice(made, RefundState("re_1", "succeeded"), money, "1042") is None
    refused = RefundState(None, "failed", "Stripe: no")
    assert provider_refunds.notice(WAITING, refused, money, "1042") is None
    assert provider_refunds.notice(made, RefundState("re_1", "failed"), money, "1042") == (
        "The refund of 20.00 USD for order 1042 did not go through. "
        "We will get back to you about it.")


def test_a_refund_goes_through_its_orders_provider_only_when_that_is_turned_on() -> None:
    assert provider_refunds.provider_for("stripe", frozenset({"stripe"})) == "stripe"
    assert provider_refunds.provider_for("stripe", frozenset()) == "manual"
    assert provider_refunds.provider_for(None, frozenset({"stripe"})) == "manual"
