"""Stripe's webhook events as Stripe documents them (https://docs.stripe.com/api/events,
.../checkout/sessions/object, .../charges/object, .../refunds/object; trimmed to the fields
the product reads, plus a few it does not), and their `Stripe-Signature`
(https://docs.stripe.com/webhooks#verify-manually: `t=<Unix seconds>,v1=<hex HMAC-SHA256 of
"{t}.{raw body}" with the endpoint's signing secret>`)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
from typing import Any

import orjson

EVENT_IDS = itertools.count(1)
CREATED = 1764800000  # 2025-12-03T22:13:20Z


def event(kind: str, obj: dict[str, Any], created: int = CREATED) -> dict[str, Any]:
    return {"id": f"evt_{next(EVENT_IDS)}", "object": "event", "api_version": "2025-11-17",
            "type": kind, "created": created, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "data": {"object": obj}}


def checkout_session(payment_intent: str = "pi_1", amount: int = 4900,
                     email: str = "maya@example.com", **changes: Any) -> dict[str, Any]:
    return {"id": "cs_test_1", "object": "checkout.session", "mode": "payment",
            "payment_intent": payment_intent, "payment_status": "paid", "status": "complete",
            "amount_total": amount, "currency": "usd", "created": CREATED - 60,
            "customer_details": {"email": email, "name": "Maya Lin"},
            "customer_email": None, "client_reference_id": None, "metadata": {}, **changes}


def charge(payment_intent: str | None = "pi_1", amount: int = 4900,
           email: str = "maya@example.com", **changes: Any) -> dict[str, Any]:
    return {"id": "ch_1", "object": "charge", "payment_intent": payment_intent,
            "amount": amount, "amount_captured": amount, "amount_refunded": 0,
            "captured": True, "paid": True, "status": "succeeded", "currency": "usd",
            "billing_details": {"email": email, "name": "Maya Lin"}, "receipt_email": None,
            "description": "Course Pro", "metadata": {}, "created": CREATED - 60, **changes}


def refund(refund_id: str = "re_1", status: str = "succeeded", **changes: Any
           ) -> dict[str, Any]:
    return {"id": refund_id, "object": "refund", "amount": 2000, "currency": "usd",
            "status": status, "payment_intent": "pi_1", "charge": "ch_1",
            "failure_reason": None, "metadata": {}, "created": CREATED, **changes}


def signature(secret: str, raw: bytes, at: int) -> str:
    digest = hmac.new(secret.encode(), f"{at}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def body(found: dict[str, Any]) -> bytes:
    return orjson.dumps(found)
