"""Customers, orders and money inside the chat: runs the store's money actions and tells the
visitor (a system message in their conversation) and the agents (approvals waiting)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import orjson

from chatserver.config import Settings
from chatserver.domain.clock import iso, now
from chatserver.domain.ledger import Kind, LedgerError, Limits, MoneyRequest, risk_marks
from chatserver.domain.models import Agent, Conversation, Integration, Visitor
from chatserver.domain.shops import ShopRefund
from chatserver.service.desk import Desk
from chatserver.service.news import ConversationNews
from chatserver.service.stripe_payments import StripePayments
from chatserver.store import Store
from chatserver.store.types import IdempotencyKey, OrderChange, Outcome


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _answer(saved: OrderChange) -> tuple[int, dict[str, Any]]:
    return (201 if saved.change == "created" else 200), saved.order


class Commerce:
    def __init__(self, settings: Settings, store: Store, desk: Desk, news: ConversationNews,
                 stripe: StripePayments) -> None:
        self.store = store
        self.desk = desk
        self.news = news
        self.stripe = stripe
        self.providers = settings.payment_providers
        self.limits = Limits.of(settings.agent_refund_limit, settings.agent_credit_limit,
                                settings.supervisor_limit, settings.risk_max_refunds,
                                settings.risk_max_refund_rate)

    async def upsert_order(self, fields: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return _answer(await self.store.upsert_order(fields))

    async def webhook_order(self, fields: dict[str, Any], timestamp: int,
                            signature: str) -> tuple[int, dict[str, Any] | None]:
        """A signed webhook's order; None (nothing changed) for a replay or an older one."""
        saved = await self.store.webhook_order(fields, timestamp, signature)
        return _answer(saved) if saved is not None else (200, None)

    async def refund_elsewhere(self, refund: ShopRefund) -> dict[str, Any] | None:
        """A refund made in the shop's platform; None when its order is not known yet."""
        saved = await self.store.refund_elsewhere(refund.shop_ref, refund.refund_id,
                                                  refund.cents)
        return saved.order if saved is not None else None

    async def money(self, req: MoneyRequest, scope: str, path: str, key: str,
                    body: dict[str, Any]) -> Outcome:
        """A refund or credit, once per Idempotency-Key."""
        outcome = await self.store.money_request(
            req, IdempotencyKey(scope, path, key, body_hash(body)), self.limits,
            self.providers, on_commit=self._announce)
        if outcome.status == 202:
            self.news.announce.to_overseers({"type": "approval", **outcome.body},
                                            outcome.body["approval"]["requested_by"]["id"])
        return await self._carried_out(outcome)

    async def _carried_out(self, outcome: Outcome) -> Outcome:
        """A refund that a provider carries out, asked of it once the entry is committed (a
        replay asks again if the first try got no answer), with the entry as it stands then."""
        entry = outcome.body.get("refund")
        if entry is None or entry.get("provider", "manual") == "manual":
            return outcome
        await self.stripe.settle(entry["id"])
        return replace(outcome, body={**outcome.body,
                                      "refund": await self.store.ledger_entry(entry["id"])})

    async def give(self, kind: Kind, actor: Agent | Integration, scope: str, target: int,
                   key: str, body: dict[str, Any]) -> Outcome:
        """A refund of order `target` or a store credit to customer `target`, from a checked
        body (the REST API's JSON or the console's form): once per `key` in `scope`."""
        if kind == "credit" and body.get("expires_at") and body["expires_at"] <= iso(now()):
            raise LedgerError(422, "invalid", "expires_at is in the past")
        req = MoneyRequest(
            kind=kind, actor=actor, amount_cents=body["amount_cents"], reason=body["reason"],
            conversation_id=body.get("conversation_id"),
            order_id=target if kind == "refund" else None,
            customer_id=target if kind == "credit" else None,
            currency=body.get("currency"), expires_at=body.get("expires_at"))
        # the key's path names its target canonically: /orders/01 and /orders/1 are one order
        path = f"/api/{'orders' if kind == 'refund' else 'customers'}/{target}/{kind}s"
        return await self.money(req, scope, path, key, body)

    def check_in_charge(self, conversation_id: int, actor: Agent) -> None:
        """Agents act in their own conversations; supervisors and admins anywhere."""
        if self.desk.owner(conversation_id) != actor.id and not actor.can_oversee:
            raise LedgerError(403, "forbidden", "that conversation is not assigned to you")

    async def decide(self, approval_id: int, approve: bool, actor: Agent,
                     note: str | None) -> Outcome:
        outcome = await self.store.decide_approval(approval_id, approve, actor, note,
                                                   self.limits, self.providers,
                                                   on_commit=self._announce)
        approval = outcome.body["approval"]
        self.news.announce.to_overseers({"type": "approval", **outcome.body},
                                        approval["requested_by"]["id"])
        return await self._carried_out(outcome)

    async def verify(self, conversation_id: int, order_number: str, email: str,
                     actor: Agent) -> Outcome:
        outcome = await self.store.verify_purchase(conversation_id, order_number, email, actor,
                                                   on_commit=self._announce)
        visitor = await self.store.visitor(outcome.visitor_id) if outcome.visitor_id else None
        if visitor is not None:  # agents call them by their customer's name from now on
            self.desk.visitor_changed(visitor)
        self._customer_changed(conversation_id, outcome.body["customer_id"], visitor)
        return outcome

    async def link(self, conversation_id: int, customer_id: int, actor: Agent) -> Outcome:
        outcome = await self.store.link_customer(conversation_id, customer_id, actor)
        self._customer_changed(conversation_id, outcome.body["customer"]["id"])
        return outcome

    def _customer_changed(self, conversation_id: int, customer_id: int | None,
                          visitor: Visitor | None = None) -> None:
        owner = self.desk.owner(conversation_id)
        if owner is None:
            return
        frame: dict[str, Any] = {"type": "customer", "conversation_id": conversation_id,
                                 "customer_id": customer_id}
        if visitor is not None:
            frame["visitor"] = visitor.public()
        self.news.announce.to_agent(owner, frame)

    async def customer(self, customer_id: int) -> dict[str, Any]:
        found = await self.store.customer(customer_id)
        if found is None:
            raise LedgerError(404, "not_found", "no such customer")
        return {**found, "refund_figures": risk_marks(found["refund_figures"], self.limits),
                "limits": self.limits.public()}

    async def chat(self, conversation_id: int) -> tuple[Conversation, Visitor | None]:
        """A conversation and its visitor, as the customer panel sees them."""
        conversation = await self.store.conversation(conversation_id)
        if conversation is None:
            raise LedgerError(404, "not_found", "no such conversation")
        return conversation, await self.store.visitor(conversation.visitor_id)

    async def customers_by_email(self, email: str) -> list[dict[str, Any]]:
        return await self.store.customers_by_email(email)

    async def approvals(self, status: str | None, requested_by: int | None
                        ) -> list[dict[str, Any]]:
        return await self.store.approvals(status, requested_by)

    def _announce(self, outcome: Outcome) -> None:
        """A money action's system message reaches the chat in commit order."""
        if outcome.notice is not None:
            self.news.system(outcome.notice, outcome.visitor_id)
