"""Payment providers: who actually moves the money once the ledger says so.

The ledger is always the record. The `manual` provider moves nothing: it tells the person
what to do in the shop's payment processor. A provider that calls a processor's API (Stripe,
say) implements the same interface and is named in a ledger entry's `provider`.
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


PROVIDERS: dict[str, PaymentProvider] = {"manual": ManualProvider()}


def provider_named(name: str) -> PaymentProvider:
    return PROVIDERS.get(name, PROVIDERS["manual"])
