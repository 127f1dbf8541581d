"""Refunds, store credit, approvals and purchase verification, each one transaction, and
PostgresStore's methods that run them (the class at the end).

Each money action reads what it decides on (what an order has left, what was given in the
conversation, the customer's refund figures) inside the transaction that writes the entry,
and asks the rules in domain/ledger.py and domain/money_checks.py as SQLite's does. Where
SQLite's one writer made concurrent actions take turns, row locks do here: the order's
(`FOR UPDATE`), so parallel refunds of one order never add up to more than it; the
conversation's, so what was given in a chat is counted by one action at a time; the
approval's, so it is decided once. A refund's or credit's idempotency key is recorded in the
same transaction; the same key twice at once fails on its primary key the second time, which
then runs again and replays the first answer.
"""

from __future__ import annotations

from typing import Any

import orjson

from chatserver.domain import ledger, money_checks
from chatserver.domain.clock import iso, now
from chatserver.domain.idempotency import FirstAnswer, check_not_refused, refusal, replay
from chatserver.domain.ledger import Kind, LedgerError, Limits, MoneyRequest
from chatserver.domain.models import SYSTEM, Agent, Message
from chatserver.domain.money import Money
from chatserver.domain.money_checks import AskedApproval, Chat, GivenInChat, VerifiedOrder
from chatserver.domain.provider_refunds import provider_for
from chatserver.store.postgres import views
from chatserver.store.postgres.connection import Connection, Record, Runs
from chatserver.store.postgres.conversations import insert_message
from chatserver.store.postgres.customers import audit, canonical
from chatserver.store.postgres.provider_refunds import waiting
from chatserver.store.types import IdempotencyKey, OnCommit, Outcome


async def request(db: Connection, req: MoneyRequest, limits: Limits,
                  providers: frozenset[str]) -> Outcome:
    """A refund or credit: done at once within the limits, else an approval request."""
    conversation = await _conversation(db, req.conversation_id)
    if req.kind == "refund":
        order = await _order(db, req.order_id)
        customer_id = await canonical(db, order["customer_id"])
        currency = order["currency"]
    else:
        customer_id = await canonical(db, req.customer_id or 0)
        if customer_id is None:
            raise LedgerError(404, "not_found", "no such customer")
        order, currency = None, str(req.currency)
    assert customer_id is not None
    chat = await _chat(db, conversation) if conversation is not None else None
    actor = money_checks.check_may_give(req.actor, chat, customer_id,
                                        order["id"] if order else None)
    if order is not None:
        refunded, reserved = await views.order_refunds(db, order["id"])
        ledger.check_refund(Money(order["amount_cents"], currency),
                            Money(req.amount_cents, currency), refunded, reserved,
                            order["shop_refunded_cents"])
    given = await _given_in_chat(db, req.kind, req.conversation_id)
    figures = await views.refund_figures(db, customer_id) if req.kind == "refund" else None
    decision = ledger.decide(req.kind, actor.role, req.amount_cents,
                             given.counted_for_a_request, figures, limits)
    fields = {"kind": req.kind, "customer_id": customer_id,
              "order_id": order["id"] if order else None,
              "conversation_id": req.conversation_id, "amount_cents": req.amount_cents,
              "currency": currency, "reason": req.reason, "expires_at": req.expires_at}
    if decision.outcome == "approval":
        approval_id = await _insert(db, "approvals", {
            **fields, "status": "pending", "why": "; ".join(decision.reasons),
            "requested_by": actor.id, "created_at": iso(now())})
        await audit(db, actor.id, f"{req.kind}.requested", customer_id,
                    {"approval_id": approval_id, **fields, "why": list(decision.reasons)})
        return Outcome(202, {"approval": await views.approval(db, approval_id)})
    provider = provider_for(order["provider"] if order else None, providers)
    return await _record(db, fields, actor, provider, approval_id=None)


async def decide_approval(db: Connection, approval_id: int, approve: bool, actor: Agent,
                          note: str | None, limits: Limits,
                          providers: frozenset[str]) -> Outcome:
    """A supervisor approves (checking again what may still be given) or rejects."""
    row = await db.fetchrow("SELECT * FROM approvals WHERE id = $1 FOR UPDATE", approval_id)
    if row is None:
        raise LedgerError(404, "not_found", "no such approval")
    kind: Kind = row["kind"]
    if row["conversation_id"] is not None:
        await _conversation(db, row["conversation_id"])  # its lock: one action at a time
    asked = AskedApproval(kind, row["amount_cents"], row["status"], row["requested_by"])
    money_checks.check_decision(asked, approve, actor,
                                await _given_in_chat(db, kind, row["conversation_id"]), limits)
    status = "approved" if approve else "rejected"
    await db.execute("UPDATE approvals SET status = $1, decided_by = $2, decided_at = $3, "
                     "note = $4 WHERE id = $5", status, actor.id, iso(now()), note, approval_id)
    if not approve:
        await audit(db, actor.id, f"{kind}.rejected", row["customer_id"],
                    {"approval_id": approval_id, "note": note})
        return Outcome(200, {"approval": await views.approval(db, approval_id)})
    provider = "manual"
    if row["order_id"] is not None:  # check again: its own reservation is now released
        order = await _order(db, row["order_id"])
        provider = provider_for(order["provider"], providers)
        refunded, reserved = await views.order_refunds(db, order["id"])
        ledger.check_refund(Money(order["amount_cents"], order["currency"]),
                            Money(row["amount_cents"], row["currency"]), refunded, reserved,
                            order["shop_refunded_cents"])
    fields = {k: row[k] for k in ("kind", "customer_id", "order_id", "conversation_id",
                                  "amount_cents", "currency", "reason", "expires_at")}
    outcome = await _record(db, fields, actor, provider, approval_id=approval_id)
    return Outcome(200, {"approval": await views.approval(db, approval_id), **outcome.body},
                   outcome.notice, outcome.visitor_id)


async def verify_purchase(db: Connection, conversation_id: int, order_number: str,
                          email: str, actor: Agent) -> Outcome:
    """The order number and the buyer's email match: the order is verified for this chat."""
    conversation = await _conversation(db, conversation_id)
    assert conversation is not None
    order = await db.fetchrow("SELECT * FROM orders WHERE external_id = $1 AND "
                              "lower(email) = lower($2)", order_number.strip(), email.strip())
    if order is None:
        raise LedgerError(404, "no_match", "no order with that number was bought with that email")
    await db.execute("INSERT INTO verifications (conversation_id, order_id, agent_id, "
                     "created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                     conversation_id, order["id"], actor.id, iso(now()))
    customer_id = await canonical(db, order["customer_id"])
    links = money_checks.purchase_links(await _chat(db, conversation))
    if links.conversation:
        await db.execute("UPDATE conversations SET customer_id = $1 WHERE id = $2",
                         customer_id, conversation_id)
    if links.visitor:  # marked apart from an identity
        await db.execute("UPDATE visitors SET customer_id = $1, purchase_verified_at = $2 "
                         "WHERE id = $3", customer_id, iso(now()), conversation["visitor_id"])
    await audit(db, actor.id, "order.verified", customer_id,
                {"order_id": order["id"], "conversation_id": conversation_id})
    notice = await insert_message(
        db, conversation_id, SYSTEM,
        f"Purchase verified: order {order['external_id']}, {order['product']}")
    linked = await db.fetchval("SELECT customer_id FROM conversations WHERE id = $1",
                               conversation_id)
    return Outcome(200, {"order": await views.order(db, order["id"]), "customer_id": linked},
                   notice, conversation["visitor_id"])


async def link_customer(db: Connection, conversation_id: int, customer_id: int,
                        actor: Agent) -> Outcome:
    """An agent links a conversation to a customer by hand (this verifies nothing)."""
    await _conversation(db, conversation_id)
    found = await canonical(db, customer_id)
    if found is None:
        raise LedgerError(404, "not_found", "no such customer")
    await db.execute("UPDATE conversations SET customer_id = $1 WHERE id = $2",
                     found, conversation_id)
    await audit(db, actor.id, "conversation.linked", found, {"conversation_id": conversation_id})
    return Outcome(200, {"customer": await views.customer(db, found)})


async def _record(db: Connection, fields: dict[str, Any], actor: Agent, provider: str,
                  approval_id: int | None) -> Outcome:
    """The entry written; the visitor is told at once unless a provider has yet to answer."""
    waits = provider != "manual"
    entry_id = await _insert(db, "ledger", {
        **fields, "agent_id": actor.id, "approval_id": approval_id, "provider": provider,
        "created_at": iso(now()), **(waiting() if waits else {})})
    await audit(db, actor.id, f"{fields['kind']}.issued", fields["customer_id"],
                {"ledger_id": entry_id, "approval_id": approval_id, **fields})
    entry = await views.entry(db, entry_id)
    notice, visitor_id = None, None
    if fields["conversation_id"] is not None and not waits:
        what = ledger.visitor_notice(fields["kind"], Money(fields["amount_cents"],
                                                           fields["currency"]),
                                     entry["order_external_id"])
        notice = await insert_message(db, fields["conversation_id"], SYSTEM, what)
        visitor_id = await db.fetchval("SELECT visitor_id FROM conversations WHERE id = $1",
                                       fields["conversation_id"])
    return Outcome(201, {fields["kind"]: entry}, notice, visitor_id)


async def _chat(db: Connection, conversation: Record) -> Chat:
    """The facts the money checks need about the conversation, merges followed."""
    identity = await db.fetchrow("SELECT customer_id FROM visitors WHERE id = $1 AND verified",
                                 conversation["visitor_id"])
    verified = await db.fetch(
        "SELECT o.id, o.customer_id FROM verifications v JOIN orders o ON o.id = v.order_id "
        "WHERE v.conversation_id = $1", conversation["id"])
    return Chat(conversation["id"], conversation["agent_id"],
                await canonical(db, conversation["customer_id"] or 0),
                await canonical(db, identity["customer_id"] or 0) if identity else None,
                tuple([VerifiedOrder(v["id"], await canonical(db, v["customer_id"]))
                       for v in verified]))


async def _given_in_chat(db: Connection, kind: Kind, conversation_id: int | None) -> GivenInChat:
    if conversation_id is None:
        return GivenInChat()
    given, pending = await db.fetchrow(
        "SELECT (SELECT COALESCE(SUM(amount_cents), 0) FROM ledger WHERE kind = $1 AND "
        f"conversation_id = $2 AND {views.COUNTED}), "
        "(SELECT COALESCE(SUM(amount_cents), 0) FROM approvals "
        "WHERE kind = $1 AND conversation_id = $2 AND status = 'pending')",
        kind, conversation_id)
    return GivenInChat(int(given), int(pending))


async def _conversation(db: Connection, conversation_id: int | None) -> Record | None:
    """The conversation, locked: what is given in it is counted by one action at a time."""
    if conversation_id is None:
        return None
    row = await db.fetchrow("SELECT * FROM conversations WHERE id = $1 FOR UPDATE",
                            conversation_id)
    if row is None:
        raise LedgerError(404, "not_found", "no such conversation")
    return row


async def _order(db: Connection, order_id: int | None) -> Record:
    """The order, locked: what it has left is decided on by one action at a time."""
    row = await db.fetchrow("SELECT * FROM orders WHERE id = $1 FOR UPDATE", order_id)
    if row is None:
        raise LedgerError(404, "not_found", "no such order")
    return row


async def _insert(db: Connection, table: str, fields: dict[str, Any]) -> int:
    placeholders = ", ".join(f"${n}" for n in range(1, len(fields) + 1))
    return int(await db.fetchval(f"INSERT INTO {table} ({', '.join(fields)}) VALUES "
                                 f"({placeholders}) RETURNING id", *fields.values()))


# --- idempotency keys: the same key with the same body replays the first answer ----------
async def once(db: Connection, key: IdempotencyKey, req: MoneyRequest, limits: Limits,
               providers: frozenset[str]) -> Outcome:
    """The request the first time this key is seen where it was used; its answer after that."""
    row = await db.fetchrow("SELECT body_hash, status, response FROM idempotency WHERE "
                            "scope = $1 AND path = $2 AND key = $3", key.scope, key.path, key.key)
    first = replay(FirstAnswer(row["body_hash"], row["status"], orjson.loads(row["response"]))
                   if row is not None else None, key.body_hash)
    if first is not None:
        return Outcome(first.status, first.body)
    try:
        async with db.transaction():  # a savepoint
            outcome = await request(db, req, limits, providers)
    except LedgerError as error:  # the key's answer too: undone, kept, replayed on a retry
        outcome = Outcome(error.status, refusal(error))
    await db.execute("INSERT INTO idempotency (scope, path, key, body_hash, status, response, "
                     "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                     key.scope, key.path, key.key, key.body_hash, outcome.status,
                     orjson.dumps(outcome.body).decode(), iso(now()))
    return outcome


def _notice(outcome: Outcome) -> Message | None:
    return outcome.notice


class LedgerMethods(Runs):
    async def money_request(self, req: MoneyRequest, key: IdempotencyKey, limits: Limits,
                            providers: frozenset[str],
                            on_commit: OnCommit[Outcome] = None) -> Outcome:
        return check_not_refused(await self.transaction(
            lambda db: once(db, key, req, limits, providers), on_commit, _notice))

    async def decide_approval(self, approval_id: int, approve: bool, actor: Agent,
                              note: str | None, limits: Limits, providers: frozenset[str],
                              on_commit: OnCommit[Outcome] = None) -> Outcome:
        return await self.transaction(
            lambda db: decide_approval(db, approval_id, approve, actor, note, limits,
                                       providers), on_commit, _notice)

    async def verify_purchase(self, conversation_id: int, order_number: str, email: str,
                              actor: Agent, on_commit: OnCommit[Outcome] = None) -> Outcome:
        return await self.transaction(
            lambda db: verify_purchase(db, conversation_id, order_number, email, actor),
            on_commit, _notice)

    async def link_customer(self, conversation_id: int, customer_id: int,
                            actor: Agent) -> Outcome:
        return await self.transaction(
            lambda db: link_customer(db, conversation_id, customer_id, actor))

    async def approvals(self, status: str | None,
                        requested_by: int | None) -> list[dict[str, Any]]:
        return await self.read(lambda db: views.approvals(db, status, requested_by))
