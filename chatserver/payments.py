"""Payment providers: who actually moves the money once the ledger says so.

The ledger is always the record. The `manual` provider moves nothing: it tells the person
what to do in the shop's payment processor. `stripe` refunds through Stripe's API
(service/stripe_payments.py calls it): a person has something to do only when Stripe did not
refund, or has not answered yet. A ledger entry names its provider in `provider`.
"""

from __future__ import annotations

from typing import Any, Protocol

from chatserver.domain.money import Money


class PaymentProvider(Protocol):
    name: str

    def instructions(self, entry: dict[str, Any]) -> str | None:
        """What a person still has to do for this ledger entry (None: nothing)."""
        ...


class ManualProvider:
    name = "manual"

    def instructions(self, entry: dict[str, Any]) -> str | None:
        money = Money(entry["amount_cents"], entry["currency"])
        if entry["kind"] == "refund":
            return (f"Refund {money} on order {entry['order_external_id']} in your payment "
                    "processor.")
        return f"Add {money} of store credit to the customer's account in your shop."


class StripeProvider:
    name = "stripe"

    def instructions(self, entry: dict[str, Any]) -> str | None:
        money = Money(entry["amount_cents"], entry["currency"])
        if entry["provider_status"] == "failed":
            why = entry["provider_error"] or "no reason given"
            return (f"Stripe did not refund {money} ({why}): nothing was refunded, and the "
                    "amount can be refunded again.")
        if entry["provider_refund_id"] is None:
            return (f"Stripe has not answered yet for {money}: the server asks again every "
                    "minute with the same key (Stripe never refunds twice), and Stripe's "
                    "webhook says how it ended.")
        return None


PROVIDERS: dict[str, PaymentProvider] = {"manual": ManualProvider(), "stripe": StripeProvider()}


def provider_named(name: str) -> PaymentProvider:
    return PROVIDERS.get(name, PROVIDERS["manual"])
