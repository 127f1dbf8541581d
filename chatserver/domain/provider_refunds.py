"""A refund carried out by a payment provider (Stripe): where it stands there, how a report
about it moves it on, and what the visitor is told as it does.

A provider's refund starts `pending` with no id there, when its ledger entry is written; the
provider's answer, then its webhooks, report on it. It only moves forward (pending, then
succeeded, then failed: a bank may still refuse a refund that succeeded), so replays and
reports arriving late change nothing. A `failed` refund moved no money: the store counts it
for nothing, so its amount can be refunded again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from chatserver.domain.ledger import visitor_notice
from chatserver.domain.money import Money

Status = Literal["pending", "succeeded", "failed"]
RANK: dict[str, int] = {"pending": 0, "succeeded": 1, "failed": 2}


@dataclass(frozen=True)
class RefundState:
    """A refund at its provider: its id there (None until the provider made one), its status,
    and why it failed."""

    refund_id: str | None
    status: Status
    error: str | None = None

    @property
    def told(self) -> bool:
        """Whether the visitor has been told the refund was issued: once the provider made it,
        unless it failed."""
        return self.refund_id is not None and self.status != "failed"


WAITING = RefundState(None, "pending")  # written with the ledger entry, before the provider


@dataclass(frozen=True)
class Reported:
    """A provider's report about one refund (a webhook's): where it stands there, and the
    ledger entry it names (`entry_id`: set on the refund when we asked for it), which finds
    the entry even when the provider's first answer never reached us."""

    state: RefundState
    entry_id: int | None = None


def after(before: RefundState, report: RefundState) -> RefundState | None:
    """The refund once `report` is applied; None when it changes nothing."""
    moves = RANK[report.status] > RANK[before.status]
    learns_id = before.refund_id is None and report.refund_id is not None
    if not (moves or learns_id):
        return None
    return RefundState(before.refund_id or report.refund_id,
                       report.status if moves else before.status,
                       report.error if moves else before.error)


def notice(before: RefundState, now: RefundState, money: Money,
           order_number: str | None) -> str | None:
    """What the visitor reads as the refund moves on: that it was issued once the provider
    made it, that it did not go through if it fails after that; nothing else (a refund the
    provider refused at once was never announced)."""
    if now.told and not before.told:
        return visitor_notice("refund", money, order_number)
    if before.told and not now.told:
        return (f"The refund of {money} for order {order_number} did not go through. "
                "We will get back to you about it.")
    return None


def provider_for(order_provider: str | None, turned_on: frozenset[str]) -> str:
    """Who carries out a refund of an order: its provider if that is turned on (an order
    from Stripe while Stripe's key is set), else `manual` (a person, in the shop's tools)."""
    return order_provider if order_provider in turned_on else "manual"


def new_key() -> str:
    """A refund's idempotency key at its provider, kept with its ledger entry: every try of
    one refund sends the same, so the provider makes it once."""
    return f"chatserver-refund-{secrets.token_hex(16)}"
