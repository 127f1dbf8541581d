"""Stripe's side of orders and refunds, as plain data: orders from its webhook events, the
status of a refund it reports, and which of two reports about one refund stands. The
signature is checked, and the API called, by the `stripe` package (service/stripe_payments.py).

Shapes from Stripe's API reference (https://docs.stripe.com/api):
- Checkout Session (checkout.session.completed): `id`, `payment_intent`, `payment_status`
  (`paid`, `unpaid`, `no_payment_required`), `amount_total` (minor units), `currency`
  (lower case), `customer_details` {`email`, `name`}, `customer_email`,
  `client_reference_id`, `metadata`, `created` (Unix seconds).
- Charge (charge.succeeded, charge.refunded): `id`, `payment_intent`, `amount`,
  `amount_captured`, `captured`, `currency`, `billing_details` {`email`, `name`},
  `receipt_email`, `description`, `metadata`, `created`, `refunds` {`data`: [Refund]} (when
  the account's API version includes it).
- Refund (refund.updated, charge.refund.updated, refund.failed): `id`, `status` (`pending`,
  `requires_action`, `succeeded`, `failed`, `canceled`), `failure_reason`.
- Event: `id`, `type`, `created`, `data` {`object`}.

What maps how (docs/stripe.md says it for shop owners): the order's `external_id` is the
shop's own number when the payment carries it (`metadata.order_id`, `metadata.order_number`,
a session's `client_reference_id`), else the payment intent's id (else the charge's), so the
session and the charge of one payment are one order. The delivery's time, for out-of-order
deliveries, is the event's `created`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chatserver.domain.money import MoneyError, cents
from chatserver.domain.provider_refunds import RefundState, Reported, Status
from chatserver.domain.shops import ShopOrder, checked_currency, checked_order, invalid

PROVIDER = "stripe"
LEDGER_ID = "chatserver_ledger_id"  # the metadata a refund we ask for carries
ORDER_EVENTS = frozenset({"checkout.session.completed", "charge.succeeded"})
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed",
                           "charge.refund.updated", "charge.refunded"})
# Stripe's refund statuses as ours: a refund waiting for the customer's action is pending, a
# canceled one moved no money, as a failed one
STATUSES: dict[str, Status] = {"pending": "pending", "requires_action": "pending",
                               "succeeded": "succeeded", "failed": "failed",
                               "canceled": "failed"}


def refund_report(refund: Mapping[str, Any]) -> RefundState:
    status = STATUSES.get(str(refund.get("status")))
    if status is None:
        raise invalid(f"a refund's status must be one of {', '.join(STATUSES)}")
    reason = refund.get("failure_reason") or (
        "canceled" if refund.get("status") == "canceled" else None)
    return RefundState(_id(refund.get("id")), status,
                        f"Stripe: {reason}" if status == "failed" and reason else None)


def refunds_of(kind: str, obj: Mapping[str, Any]) -> list[Reported]:
    """The refunds an event reports: the refund itself, or a charge's refunds; each with the
    ledger entry its metadata names (`chatserver_ledger_id`, which we set)."""
    if kind == "charge.refunded":
        listed = obj.get("refunds")
        data = listed.get("data") if isinstance(listed, Mapping) else None
        refunds = [r for r in data or () if isinstance(r, Mapping)]
    else:
        refunds = [obj]
    return [Reported(refund_report(r), _ledger_id(r.get("metadata"))) for r in refunds]


def _ledger_id(metadata: Any) -> int | None:
    named = metadata.get(LEDGER_ID) if isinstance(metadata, Mapping) else None
    return int(named) if isinstance(named, str) and named.isdigit() else None


def order_of(kind: str, obj: Mapping[str, Any], event_created: int) -> ShopOrder:
    """A checkout.session.completed's session or a charge.succeeded's charge as our order."""
    session = kind == "checkout.session.completed"
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    buyer = obj.get("customer_details" if session else "billing_details") or {}
    payment = obj.get("payment_intent") or (None if session else obj.get("id"))
    if session:
        paid = obj.get("payment_status") == "paid"
        amount = obj.get("amount_total") if paid else 0
    else:
        paid = obj.get("captured", True) is not False
        amount = obj.get("amount_captured", obj.get("amount")) if paid else 0
    external_id = (metadata.get("order_id") or metadata.get("order_number")
                   or (obj.get("client_reference_id") if session else None) or payment
                   or obj.get("id"))
    fields = checked_order({
        "external_id": str(external_id or ""),
        "email": buyer.get("email") or obj.get("customer_email" if session else "receipt_email"),
        "name": buyer.get("name"),
        "product": str(metadata.get("product") or obj.get("description") or "Stripe payment"),
        "amount_cents": _amount(amount),
        "currency": checked_currency(obj.get("currency")),
        "purchased_at": _time(obj.get("created")),
        "status": "paid" if paid else str(obj.get("payment_status") or obj.get("status")),
    })
    provider = {"provider": PROVIDER, "provider_payment_id": str(payment)} if payment else {}
    return ShopOrder({**fields, **provider}, event_created)


def _amount(value: Any) -> int:
    try:
        return cents(value, allow_zero=True)
    except MoneyError as error:
        raise invalid(f"the amount {error}") from None


def _time(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")


def _id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("the refund names no id")
    return value
