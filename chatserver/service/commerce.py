"""Customers, orders and money inside the chat: runs the store's money actions and tells the
visitor (a system message in their conversation) and the agents (approvals waiting)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

from chatserver.config import Settings
from chatserver.domain.clock import now
from chatserver.domain.ledger import LedgerError, Limits
from chatserver.domain.models import Agent, Visitor
from chatserver.service.chat import ChatService
from chatserver.store import customers, idempotency, money, views, webhooks
from chatserver.store.money import MoneyRequest, Outcome

PROVIDER = "manual"


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _upsert_order(db: sqlite3.Connection, fields: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    order_id, change = customers.upsert_order(db, fields)
    return (201 if change == "created" else 200), views.order(db, order_id)


class Commerce:
    def __init__(self, settings: Settings, chat: ChatService) -> None:
        self.chat = chat
        self.store = chat.store
        self.limits = Limits.of(settings.agent_refund_limit, settings.agent_credit_limit,
                                settings.supervisor_limit, settings.risk_max_refunds,
                                settings.risk_max_refund_rate)

    async def upsert_order(self, fields: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return await self.store.transaction(partial(_upsert_order, fields=fields))

    async def webhook_order(self, fields: dict[str, Any], timestamp: int,
                            signature: str) -> tuple[int, dict[str, Any] | None]:
        """A signed webhook's order; None (nothing changed) for a replay or an older one."""
        def run(db: sqlite3.Connection) -> tuple[int, dict[str, Any] | None]:
            if not webhooks.accept(db, fields["external_id"], timestamp, signature, now()):
                return 200, None
            status, order = _upsert_order(db, fields)
            webhooks.applied(db, order["id"], timestamp)
            return status, order
        return await self.store.transaction(run)

    async def money(self, req: MoneyRequest, scope: str, path: str, key: str,
                    body: dict[str, Any]) -> Outcome:
        """A refund or credit, once per Idempotency-Key."""
        action = partial(money.request, req=req, limits=self.limits, provider=PROVIDER)
        outcome = await self._run(partial(idempotency.once, scope=scope, path=path, key=key,
                                          body_hash=body_hash(body), run=action))
        if outcome.status == 202:
            self.chat.announce.to_overseers({"type": "approval", **outcome.body}, req.actor.id)
        return outcome

    async def decide(self, approval_id: int, approve: bool, actor: Agent,
                     note: str | None) -> Outcome:
        outcome = await self._run(partial(money.decide_approval, approval_id=approval_id,
                                          approve=approve, actor=actor, note=note,
                                          limits=self.limits, provider=PROVIDER))
        approval = outcome.body["approval"]
        self.chat.announce.to_overseers({"type": "approval", **outcome.body},
                                        approval["requested_by"]["id"])
        return outcome

    async def verify(self, conversation_id: int, order_number: str, email: str,
                     actor: Agent) -> Outcome:
        outcome = await self._run(partial(money.verify_purchase,
                                          conversation_id=conversation_id,
                                          order_number=order_number, email=email, actor=actor))
        visitor = await self.store.visitor(outcome.visitor_id) if outcome.visitor_id else None
        if visitor is not None:  # agents call them by their customer's name from now on
            self.chat.desk.visitor_changed(visitor)
        self._customer_changed(conversation_id, outcome.body["customer_id"], visitor)
        return outcome

    async def link(self, conversation_id: int, customer_id: int, actor: Agent) -> Outcome:
        outcome = await self._run(partial(money.link_customer, conversation_id=conversation_id,
                                          customer_id=customer_id, actor=actor))
        self._customer_changed(conversation_id, outcome.body["customer"]["id"])
        return outcome

    def _customer_changed(self, conversation_id: int, customer_id: int | None,
                          visitor: Visitor | None = None) -> None:
        owner = self.chat.desk.owner(conversation_id)
        if owner is None:
            return
        frame: dict[str, Any] = {"type": "customer", "conversation_id": conversation_id,
                                 "customer_id": customer_id}
        if visitor is not None:
            frame["visitor"] = visitor.public()
        self.chat.announce.to_agent(owner, frame)

    async def customer(self, customer_id: int) -> dict[str, Any]:
        def run(db: sqlite3.Connection) -> dict[str, Any]:
            found = customers.canonical(db, customer_id)
            if found is None:
                raise LedgerError(404, "not_found", "no such customer")
            return {**views.customer(db, found), "limits": self.limits.public()}
        return await self.store.read(run)

    async def customers_by_email(self, email: str) -> list[dict[str, Any]]:
        return await self.store.read(partial(views.customers_by_email, email=email))

    async def approvals(self, status: str | None, requested_by: int | None
                        ) -> list[dict[str, Any]]:
        return await self.store.read(partial(views.approvals, status=status,
                                             requested_by=requested_by))

    async def _run(self, action: Callable[[sqlite3.Connection], Outcome]) -> Outcome:
        """Run a money action; its system message reaches the chat in commit order."""
        return await self.store.transaction(action, on_commit=self._announce)

    def _announce(self, outcome: Outcome) -> None:
        if outcome.notice is not None:
            self.chat.announce_system(outcome.notice, outcome.visitor_id)
