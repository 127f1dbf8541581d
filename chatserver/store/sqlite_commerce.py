"""SqliteStore's customers, orders and money: each method runs the plain functions of
customers.py, webhooks.py, idempotency.py, money.py and views.py in one write transaction
on the writer thread, or on one read snapshot beside it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol, TypeVar

from chatserver.domain.clock import now
from chatserver.domain.ledger import Limits, MoneyRequest
from chatserver.domain.models import Agent
from chatserver.store import customers, idempotency, money, views, webhooks
from chatserver.store.commerce_types import IdempotencyKey, OrderChange, Outcome
from chatserver.store.writer import OnCommit, Writer

T = TypeVar("T")


class _Backend(Protocol):
    """What these methods use of SqliteStore."""

    @property
    def writer(self) -> Writer: ...
    async def read(self, run: Callable[[sqlite3.Connection], T]) -> T: ...


class CommerceMethods:
    """Mixed into SqliteStore (see store/base.py for what each method promises)."""

    async def upsert_order(self: _Backend, fields: dict[str, Any]) -> OrderChange:
        return await self.writer.submit(partial(customers.save_order, fields=fields))

    async def webhook_order(self: _Backend, fields: dict[str, Any], timestamp: int,
                            signature: str) -> OrderChange | None:
        return await self.writer.submit(partial(webhooks.apply_order, fields=fields,
                                                timestamp=timestamp, signature=signature,
                                                now=now()))

    async def money_request(self: _Backend, req: MoneyRequest, key: IdempotencyKey,
                            limits: Limits, provider: str,
                            on_commit: OnCommit[Outcome] = None) -> Outcome:
        action = partial(money.request, req=req, limits=limits, provider=provider)
        return await self.writer.submit(partial(idempotency.once, key=key, run=action),
                                        on_commit)

    async def decide_approval(self: _Backend, approval_id: int, approve: bool, actor: Agent,
                              note: str | None, limits: Limits, provider: str,
                              on_commit: OnCommit[Outcome] = None) -> Outcome:
        return await self.writer.submit(
            partial(money.decide_approval, approval_id=approval_id, approve=approve,
                    actor=actor, note=note, limits=limits, provider=provider), on_commit)

    async def verify_purchase(self: _Backend, conversation_id: int, order_number: str,
                              email: str, actor: Agent,
                              on_commit: OnCommit[Outcome] = None) -> Outcome:
        return await self.writer.submit(
            partial(money.verify_purchase, conversation_id=conversation_id,
                    order_number=order_number, email=email, actor=actor), on_commit)

    async def link_customer(self: _Backend, conversation_id: int, customer_id: int,
                            actor: Agent) -> Outcome:
        return await self.writer.submit(
            partial(money.link_customer, conversation_id=conversation_id,
                    customer_id=customer_id, actor=actor))

    async def customer(self: _Backend, customer_id: int) -> dict[str, Any] | None:
        return await self.read(partial(customers.view, customer_id=customer_id))

    async def customers_by_email(self: _Backend, email: str) -> list[dict[str, Any]]:
        return await self.read(partial(views.customers_by_email, email=email))

    async def approvals(self: _Backend, status: str | None,
                        requested_by: int | None) -> list[dict[str, Any]]:
        return await self.read(partial(views.approvals, status=status,
                                       requested_by=requested_by))
