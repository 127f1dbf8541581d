"""Refunds, store credit, approvals and purchase verification, run by the writer thread, and
SqliteStore's methods that submit them (the class at the end).

Each money action reads what it decides on (what an order has left, what was given in the
conversation, the customer's refund figures) inside the same transaction that writes the
entry: the writer runs one operation at a time, so concurrent refunds of one order can
never add up to more than it. A refund's or credit's idempotency key is recorded in that
same transaction too, so a retry after a crash finds both or neither.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

from chatserver.domain import ledger, money_checks
from chatserver.domain.clock import iso, now
from chatserver.domain.idempotency import FirstAnswer, check_not_refused, refusal, replay
from chatserver.domain.ledger import Kind, LedgerError, Limits, MoneyRequest
from chatserver.domain.models import SYSTEM, Agent
from chatserver.domain.money import Money
from chatserver.domain.money_checks import AskedApproval, Chat, GivenInChat, VerifiedOrder
from chatserver.domain.provider_refunds import provider_for
from chatserver.store.sqlite import views
from chatserver.store.sqlite.connection import Runs
from chatserver.store.sqlite.conversations import insert_message
from chatserver.store.sqlite.customers import audit, canonical
from chatserver.store.sqlite.provider_refunds import waiting
from chatserver.store.types import IdempotencyKey, OnCommit, Outcome


def request(db: sqlite3.Connection, req: MoneyRequest, limits: Limits,
            providers: frozenset[str]) -> Outcome:
    """A refund or credit: done at once within the limits, else an approval request."""
    conversation = _conversation(db, req.conversation_id)
    if req.kind == "refund":
        order = _order(db, req.order_id)
        customer_id = canonical(db, order["customer_id"])
        currency = order["currency"]
    else:
        customer_id = canonical(db, req.customer_id or 0)
        if customer_id is None:
            raise LedgerError(404, "not_found", "no such customer")
        order, currency = None, str(req.currency)
    assert customer_id is not None
    chat = _chat(db, conversation) if conversation is not None else None
    actor = money_checks.check_may_give(req.actor, chat, customer_id,
                                        order["id"] if order else None)
    if order is not None:
        refunded, reserved = views.order_refunds(db, order["id"])
        ledger.check_refund(Money(order["amount_cents"], currency),
                            Money(req.amount_cents, currency), refunded, reserved,
                            order["shop_refunded_cents"])
    given = _given_in_chat(db, req.kind, req.conversation_id)
    decision = ledger.decide(
        req.kind, actor.role, req.amount_cents, given.counted_for_a_request,
        views.refund_figures(db, customer_id) if req.kind == "refund" else None, limits)
    fields = {"kind": req.kind, "customer_id": customer_id,
              "order_id": order["id"] if order else None,
              "conversation_id": req.conversation_id, "amount_cents": req.amount_cents,
              "currency": currency, "reason": req.reason, "expires_at": req.expires_at}
    if decision.outcome == "approval":
        approval_id = _insert(db, "approvals", {
            **fields, "status": "pending", "why": "; ".join(decision.reasons),
            "requested_by": actor.id, "created_at": iso(now())})
        audit(db, actor.id, f"{req.kind}.requested", customer_id,
              {"approval_id": approval_id, **fields, "why": list(decision.reasons)})
        return Outcome(202, {"approval": views.approval(db, approval_id)})
    provider = provider_for(order["provider"] if order else None, providers)
    return _record(db, fields, actor, provider, approval_id=None)


def decide_approval(db: sqlite3.Connection, approval_id: int, approve: bool, actor: Agent,
                    note: str | None, limits: Limits, providers: frozenset[str]) -> Outcome:
    """A supervisor approves (checking again what may still be given) or rejects."""
    row = db.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)).fetchone()
    if row is None:
        raise LedgerError(404, "not_found", "no such approval")
    kind: Kind = row["kind"]
    asked = AskedApproval(kind, row["amount_cents"], row["status"], row["requested_by"])
    money_checks.check_decision(asked, approve, actor,
                                _given_in_chat(db, kind, row["conversation_id"]), limits)
    status = "approved" if approve else "rejected"
    db.execute("UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, note = ? "
               "WHERE id = ?", (status, actor.id, iso(now()), note, approval_id))
    if not approve:
        audit(db, actor.id, f"{kind}.rejected", row["customer_id"],
              {"approval_id": approval_id, "note": note})
        return Outcome(200, {"approval": views.approval(db, approval_id)})
    provider = "manual"
    if row["order_id"] is not None:  # check again: its own reservation is now released
        order = _order(db, row["order_id"])
        provider = provider_for(order["provider"], providers)
        refunded, reserved = views.order_refunds(db, order["id"])
        ledger.check_refund(Money(order["amount_cents"], order["currency"]),
                            Money(row["amount_cents"], row["currency"]), refunded, reserved,
                            order["shop_refunded_cents"])
    fields = {k: row[k] for k in ("kind", "customer_id", "order_id", "conversation_id",
                                  "amount_cents", "currency", "reason", "expires_at")}
    outcome = _record(db, fields, actor, provider, approval_id=approval_id)
    return Outcome(200, {"approval": views.approval(db, approval_id), **outcome.body},
                   outcome.notice, outcome.visitor_id)


def verify_purchase(db: sqlite3.Connection, conversation_id: int, order_number: str,
                    email: str, actor: Agent) -> Outcome:
    """The order number and the buyer's email match: the order is verified for this chat."""
    conversation = _conversation(db, conversation_id)
    assert conversation is not None
    order = db.execute("SELECT * FROM orders WHERE external_id = ? AND email = ? COLLATE NOCASE",
                       (order_number.strip(), email.strip())).fetchone()
    if order is None:
        raise LedgerError(404, "no_match", "no order with that number was bought with that email")
    db.execute("INSERT OR IGNORE INTO verifications (conversation_id, order_id, agent_id, "
               "created_at) VALUES (?, ?, ?, ?)", (conversation_id, order["id"], actor.id,
                                                  iso(now())))
    customer_id = canonical(db, order["customer_id"])
    links = money_checks.purchase_links(_chat(db, conversation))
    if links.conversation:
        db.execute("UPDATE conversations SET customer_id = ? WHERE id = ?",
                   (customer_id, conversation_id))
    if links.visitor:  # marked apart from an identity
        db.execute("UPDATE visitors SET customer_id = ?, purchase_verified_at = ? WHERE id = ?",
                   (customer_id, iso(now()), conversation["visitor_id"]))
    audit(db, actor.id, "order.verified", customer_id,
          {"order_id": order["id"], "conversation_id": conversation_id})
    notice = insert_message(db, conversation_id, SYSTEM,
                            f"Purchase verified: order {order['external_id']}, {order['product']}")
    linked = db.execute("SELECT customer_id FROM conversations WHERE id = ?",
                        (conversation_id,)).fetchone()[0]
    return Outcome(200, {"order": views.order(db, order["id"]), "customer_id": linked}, notice,
                   conversation["visitor_id"])


def link_customer(db: sqlite3.Connection, conversation_id: int, customer_id: int,
                  actor: Agent) -> Outcome:
    """An agent links a conversation to a customer by hand (this verifies nothing)."""
    _conversation(db, conversation_id)
    found = canonical(db, customer_id)
    if found is None:
        raise LedgerError(404, "not_found", "no such customer")
    db.execute("UPDATE conversations SET customer_id = ? WHERE id = ?", (found, conversation_id))
    audit(db, actor.id, "conversation.linked", found, {"conversation_id": conversation_id})
    return Outcome(200, {"customer": views.customer(db, found)})


def _record(db: sqlite3.Connection, fields: dict[str, Any], actor: Agent, provider: str,
            approval_id: int | None) -> Outcome:
    """The entry written; the visitor is told at once unless a provider has yet to answer."""
    waits = provider != "manual"
    entry_id = _insert(db, "ledger", {**fields, "agent_id": actor.id, "approval_id": approval_id,
                                      "provider": provider, "created_at": iso(now()),
                                      **(waiting() if waits else {})})
    audit(db, actor.id, f"{fields['kind']}.issued", fields["customer_id"],
          {"ledger_id": entry_id, "approval_id": approval_id, **fields})
    entry = views.entry(db, entry_id)
    notice, visitor_id = None, None
    if fields["conversation_id"] is not None and not waits:
        what = ledger.visitor_notice(fields["kind"], Money(fields["amount_cents"],
                                                           fields["currency"]),
                                     entry["order_external_id"])
        notice = insert_message(db, fields["conversation_id"], SYSTEM, what)
        visitor_id = db.execute("SELECT visitor_id FROM conversations WHERE id = ?",
                                (fields["conversation_id"],)).fetchone()[0]
    return Outcome(201, {fields["kind"]: entry}, notice, visitor_id)


def _chat(db: sqlite3.Connection, conversation: sqlite3.Row) -> Chat:
    """The facts the money checks need about the conversation, merges followed."""
    identity = db.execute("SELECT customer_id FROM visitors WHERE id = ? AND verified = 1",
                          (conversation["visitor_id"],)).fetchone()
    verified = db.execute(
        "SELECT o.id, o.customer_id FROM verifications v JOIN orders o ON o.id = v.order_id "
        "WHERE v.conversation_id = ?", (conversation["id"],)).fetchall()
    return Chat(conversation["id"], conversation["agent_id"],
                canonical(db, conversation["customer_id"] or 0),
                canonical(db, identity["customer_id"] or 0) if identity else None,
                tuple(VerifiedOrder(v["id"], canonical(db, v["customer_id"])) for v in verified))


def _given_in_chat(db: sqlite3.Connection, kind: Kind,
                   conversation_id: int | None) -> GivenInChat:
    if conversation_id is None:
        return GivenInChat()
    given, pending = db.execute(
        "SELECT (SELECT COALESCE(SUM(amount_cents), 0) FROM ledger WHERE kind = ?1 AND "
        f"conversation_id = ?2 AND {views.COUNTED}), "
        "(SELECT COALESCE(SUM(amount_cents), 0) FROM approvals "
        "WHERE kind = ?1 AND conversation_id = ?2 AND status = 'pending')",
        (kind, conversation_id)).fetchone()
    return GivenInChat(int(given), int(pending))


def _conversation(db: sqlite3.Connection, conversation_id: int | None) -> sqlite3.Row | None:
    if conversation_id is None:
        return None
    row = db.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
    if row is None:
        raise LedgerError(404, "not_found", "no such conversation")
    return row


def _order(db: sqlite3.Connection, order_id: int | None) -> sqlite3.Row:
    row = db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
    if row is None:
        raise LedgerError(404, "not_found", "no such order")
    return row


def _insert(db: sqlite3.Connection, table: str, fields: dict[str, Any]) -> int:
    cursor = db.execute(f"INSERT INTO {table} ({', '.join(fields)}) VALUES "
                        f"({', '.join('?' for _ in fields)})", tuple(fields.values()))
    return int(cursor.lastrowid or 0)


# --- idempotency keys: the same key with the same body replays the first answer ----------
def once(db: sqlite3.Connection, key: IdempotencyKey,
         run: Callable[[sqlite3.Connection], Outcome]) -> Outcome:
    """`run` the first time this key is seen where it was used; replay its answer after that."""
    row = db.execute("SELECT body_hash, status, response FROM idempotency WHERE scope = ? AND "
                     "path = ? AND key = ?", (key.scope, key.path, key.key)).fetchone()
    first = replay(FirstAnswer(row["body_hash"], row["status"], orjson.loads(row["response"]))
                   if row is not None else None, key.body_hash)
    if first is not None:
        return Outcome(first.status, first.body)
    db.execute("SAVEPOINT answer")
    try:
        outcome = run(db)
    except LedgerError as error:  # the key's answer too: undone, kept, replayed on a retry
        db.execute("ROLLBACK TO answer")
        outcome = Outcome(error.status, refusal(error))
    db.execute("RELEASE answer")
    db.execute("INSERT INTO idempotency (scope, path, key, body_hash, status, response, "
               "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
               (key.scope, key.path, key.key, key.body_hash, outcome.status,
                orjson.dumps(outcome.body).decode(), iso(now())))
    return outcome


class LedgerMethods(Runs):
    async def money_request(self, req: MoneyRequest, key: IdempotencyKey, limits: Limits,
                            providers: frozenset[str],
                            on_commit: OnCommit[Outcome] = None) -> Outcome:
        action = partial(request, req=req, limits=limits, providers=providers)
        outcome = await self.transaction(partial(once, key=key, run=action), on_commit)
        return check_not_refused(outcome)

    async def decide_approval(self, approval_id: int, approve: bool, actor: Agent,
                              note: str | None, limits: Limits, providers: frozenset[str],
                              on_commit: OnCommit[Outcome] = None) -> Outcome:
        return await self.transaction(
            partial(decide_approval, approval_id=approval_id, approve=approve, actor=actor,
                    note=note, limits=limits, providers=providers), on_commit)

    async def verify_purchase(self, conversation_id: int, order_number: str, email: str,
                              actor: Agent, on_commit: OnCommit[Outcome] = None) -> Outcome:
        return await self.transaction(
            partial(verify_purchase, conversation_id=conversation_id,
                    order_number=order_number, email=email, actor=actor), on_commit)

    async def link_customer(self, conversation_id: int, customer_id: int,
                            actor: Agent) -> Outcome:
        return await self.transaction(partial(link_customer, conversation_id=conversation_id,
                                              customer_id=customer_id, actor=actor))

    async def approvals(self, status: str | None,
                        requested_by: int | None) -> list[dict[str, Any]]:
        return await self.read(partial(views.approvals, status=status,
                                       requested_by=requested_by))
