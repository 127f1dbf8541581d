"""Refunds and store credit: what an agent may do at once, what needs a supervisor, what never.

Plain rules over plain figures. The store gathers the figures inside the same transaction
that writes the entry, so two refunds of one order can never both see the same remainder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from chatserver.domain.errors import Refused
from chatserver.domain.models import Agent, Integration
from chatserver.domain.money import Money

Kind = Literal["refund", "credit"]
WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class Limits:
    """Per conversation, in minor units; None is no limit. Defaults from the product brief."""

    refund: dict[str, int | None] = field(default_factory=lambda: {
        "agent": 5000, "supervisor": 50000, "admin": None})
    credit: dict[str, int | None] = field(default_factory=lambda: {
        "agent": 2500, "supervisor": 50000, "admin": None})
    max_refunds_in_window: int = 2  # a refund that would make more goes to a supervisor
    max_refund_rate: float = 0.5  # refunded over purchased, over the customer's history

    @classmethod
    def of(cls, agent_refund: int, agent_credit: int, supervisor: int, max_refunds: int,
           max_rate: float) -> Limits:
        return cls({"agent": agent_refund, "supervisor": supervisor, "admin": None},
                   {"agent": agent_credit, "supervisor": supervisor, "admin": None},
                   max_refunds, max_rate)

    def public(self) -> dict[str, Any]:
        """What the console shows beside the forms (minor units; None: no limit)."""
        return {"refund": dict(self.refund), "credit": dict(self.credit),
                "max_refunds_in_90_days": self.max_refunds_in_window,
                "max_refund_rate": self.max_refund_rate}

    def limit(self, kind: Kind, role: str) -> int | None:
        return (self.refund if kind == "refund" else self.credit).get(role, 0)


@dataclass(frozen=True)
class MoneyRequest:
    """A refund (of an order, in its currency) or a store credit (to a customer), asked for
    by `actor` (an integration token is refused), within a conversation or not."""

    kind: Kind
    actor: Agent | Integration
    amount_cents: int
    reason: str
    conversation_id: int | None = None
    order_id: int | None = None  # refunds
    customer_id: int | None = None  # credits
    currency: str | None = None  # credits (a refund is in its order's currency)
    expires_at: str | None = None  # credits


@dataclass(frozen=True)
class Purchase:
    cents: int
    at: datetime


@dataclass(frozen=True)
class PastRefund:
    cents: int
    at: datetime
    prior_contact: bool  # the customer had talked to support before this refund was asked


@dataclass(frozen=True)
class RefundFigures:
    """What an agent sees beside every refund action (refund abuse is a known cost)."""

    refunds_90d: int
    refunds_lifetime: int
    refunded_cents_90d: int
    purchased_cents_90d: int
    refunded_cents_lifetime: int
    purchased_cents_lifetime: int
    refunds_without_prior_contact: int
    customer_age_days: int

    @property
    def refund_rate_90d(self) -> float:
        return rate(self.refunded_cents_90d, self.purchased_cents_90d)

    @property
    def refund_rate_lifetime(self) -> float:
        return rate(self.refunded_cents_lifetime, self.purchased_cents_lifetime)

    def as_dict(self) -> dict[str, float | int]:
        return {**self.__dict__, "refund_rate_90d": round(self.refund_rate_90d, 4),
                "refund_rate_lifetime": round(self.refund_rate_lifetime, 4)}


def prior_contact(asked_at: datetime, conversations_started: list[datetime]) -> bool:
    """Whether the customer had talked to support before a refund was asked (at the start of
    the conversation it was given in, else when it was given)."""
    return any(started < asked_at for started in conversations_started)


def rate(refunded: int, purchased: int) -> float:
    return refunded / purchased if purchased else (1.0 if refunded else 0.0)


def figures(purchases: list[Purchase], refunds: list[PastRefund], customer_since: datetime,
            now: datetime) -> RefundFigures:
    since = now - WINDOW
    recent = [r for r in refunds if r.at >= since]
    return RefundFigures(
        refunds_90d=len(recent),
        refunds_lifetime=len(refunds),
        refunded_cents_90d=sum(r.cents for r in recent),
        purchased_cents_90d=sum(p.cents for p in purchases if p.at >= since),
        refunded_cents_lifetime=sum(r.cents for r in refunds),
        purchased_cents_lifetime=sum(p.cents for p in purchases),
        refunds_without_prior_contact=sum(1 for r in refunds if not r.prior_contact),
        customer_age_days=max(0, (now - customer_since).days),
    )


def too_many_refunds(refunds_90d: int, limits: Limits) -> bool:
    """Whether one more refund would be over the threshold of refunds in 90 days."""
    return refunds_90d + 1 > limits.max_refunds_in_window


def rate_too_high(refund_rate: float, limits: Limits) -> bool:
    return refund_rate > limits.max_refund_rate


def risk_reasons(before: RefundFigures, cents: int, limits: Limits) -> list[str]:
    """Why a new refund of `cents` looks like a habit rather than a mishap (empty: it doesn't)."""
    reasons = []
    if too_many_refunds(before.refunds_90d, limits):
        reasons.append(f"this would be refund number {before.refunds_90d + 1} in 90 days")
    # the rate over the customer's whole history: a refund of an order bought long ago is
    # not a habit just because nothing was bought in the last 90 days
    after = rate(before.refunded_cents_lifetime + cents, before.purchased_cents_lifetime)
    if rate_too_high(after, limits):
        reasons.append(f"the refund rate would be {after:.0%} of everything bought")
    return reasons


def risk_marks(figures: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """Refund figures (`RefundFigures.as_dict()`) with, for the console to highlight, the
    figures at the threshold (an agent's next refund goes to a supervisor, by the same rules
    as `risk_reasons`) and the thresholds themselves."""
    return {**figures,
            "over_threshold": {
                "refunds_90d": too_many_refunds(figures["refunds_90d"], limits),
                "refund_rate_90d": rate_too_high(figures["refund_rate_90d"], limits),
                "refund_rate_lifetime": rate_too_high(figures["refund_rate_lifetime"], limits)},
            "thresholds": {"max_refunds_in_90_days": limits.max_refunds_in_window,
                           "max_refund_rate": limits.max_refund_rate}}


@dataclass(frozen=True)
class Decision:
    """`done` at once, `approval` waiting for a supervisor (with the reasons why)."""

    outcome: Literal["done", "approval"]
    reasons: tuple[str, ...] = ()


class LedgerError(Refused):
    """A money action refused outright: `status` is the HTTP status, `code` the error code."""


def refundable(order_cents: int, refunded: int, reserved: int, shop_refunded: int = 0) -> int:
    """What may still be refunded: the order less what is refunded or waiting for approval.
    `shop_refunded` is what the shop's platform (Shopify, WooCommerce) reports refunded: a
    refund given in the chat with the `manual` provider is carried out by a person in that
    platform and then shows up there too, so the two overlap and the shop's count only beyond
    ours."""
    return max(0, order_cents - max(refunded, shop_refunded) - reserved)


def check_refund(order: Money, asked: Money, refunded: int, reserved: int,
                 shop_refunded: int = 0) -> None:
    """Never more in all than the order's amount, and only in the order's currency."""
    if asked.currency != order.currency:
        raise LedgerError(422, "currency_mismatch",
                          f"the order is in {order.currency}, not {asked.currency}")
    left = refundable(order.cents, refunded, reserved, shop_refunded)
    if asked.cents > left:
        raise LedgerError(409, "over_refundable",
                          f"only {Money(left, order.currency)} of this order can be refunded")


def check_order_update(before: Money, after: Money, refunded: int, reserved: int,
                       new_buyer: bool) -> None:
    """An order with money refunded against it, or waiting for approval, keeps its currency
    and its buyer, and its amount never drops below that money: else a refund could exceed
    what was paid, or land on someone else's order."""
    held = refunded + reserved
    if not held:
        return
    if after.currency != before.currency:
        raise LedgerError(409, "currency_locked", f"this order has refunds in {before.currency} "
                          "(done or waiting for approval): its currency cannot change")
    if new_buyer:
        raise LedgerError(409, "customer_locked", "this order has refunds (done or waiting "
                          "for approval): it cannot move to another buyer")
    if after.cents < held:
        raise LedgerError(409, "amount_below_refunded",
                          f"{Money(held, before.currency)} of this order is refunded or waiting "
                          "for approval: its amount cannot go below that")


def decide(kind: Kind, role: str, cents: int, given_in_conversation: int,
           risk: RefundFigures | None, limits: Limits) -> Decision:
    """Within the role's limit (per conversation) and, for agents, the risk threshold: done.
    Otherwise a supervisor approves it first."""
    reasons = []
    limit = limits.limit(kind, role)
    if limit is not None and given_in_conversation + cents > limit:
        reasons.append(f"over the {role} limit of {limit / 100:.2f} per conversation")
    if kind == "refund" and role == "agent" and risk is not None:
        reasons.extend(risk_reasons(risk, cents, limits))
    return Decision("approval", tuple(reasons)) if reasons else Decision("done")


def may_approve(role: str, kind: Kind, cents: int, given_in_conversation: int,
                limits: Limits) -> bool:
    """Supervisors approve within their own limit, per conversation like their own refunds
    (counting what the conversation was already given); admins approve anything."""
    if role not in ("supervisor", "admin"):
        return False
    limit = limits.limit(kind, role)
    return limit is None or given_in_conversation + cents <= limit


def visitor_notice(kind: Kind, money: Money, order_number: str | None) -> str:
    """What the visitor reads in the chat once the money is given."""
    if kind == "refund":
        return f"A refund of {money} for order {order_number} has been issued."
    return f"{money} of store credit has been added to your account."


def share(cents: int, percent: int) -> int:
    """`percent` of an amount, rounded down: partial refunds by share never add up to more."""
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise LedgerError(422, "bad_request", "percent must be a whole number from 0 to 100")
    return cents * percent // 100


def credit_balance(credits: list[tuple[Money, datetime | None]], now: datetime) -> dict[str, int]:
    """Unexpired store credit per currency."""
    balances: dict[str, int] = {}
    for money, expires in credits:
        if expires is None or expires > now:
            balances[money.currency] = balances.get(money.currency, 0) + money.cents
    return balances


def parse_time(text: str | None) -> datetime | None:
    """ISO-8601 to an aware UTC datetime; a time without a zone is taken as UTC."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
