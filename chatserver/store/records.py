"""Rows to what the Store returns, for every backend: a row is any mapping of column names
(the SQLite backend's `Row`, an asyncpg `Record`), named as the backends' SELECTs name them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from chatserver.domain import ledger
from chatserver.domain.attachments import FileRef
from chatserver.domain.clock import iso, now
from chatserver.domain.models import Agent, Author, Conversation, Message, Visitor, shown_name
from chatserver.domain.webhooks import events_of, webhook_id
from chatserver.payments import provider_named
from chatserver.store.base import (
    ClaimedDelivery,
    FollowUp,
    InboxEntry,
    NewWebhookEndpoint,
    WebhookDelivery,
    WebhookEndpoint,
)

Row = Any  # a mapping of column names


def agent(row: Row) -> Agent:
    return Agent(id=row["id"], email=row["email"], name=row["name"], role=row["role"],
                 capacity=row["capacity"], status=row["status"], disabled=bool(row["disabled"]))


def visitor(row: Row) -> Visitor:
    """A visitor's row with `customer_name`, their customer's name."""
    return Visitor(id=row["id"], name=row["name"], email=row["email"],
                   verified=bool(row["verified"]), customer_id=row["customer_id"],
                   page=row["page"], timezone=row["timezone"],
                   customer_name=row["customer_name"],
                   purchase_verified=row["purchase_verified_at"] is not None)


def conversation(row: Row) -> Conversation:
    return Conversation(
        id=row["id"], visitor_id=row["visitor_id"], status=row["status"],
        agent_id=row["agent_id"], agent_name=row["agent_name"], customer_id=row["customer_id"],
        created_at=row["created_at"], waiting_since=row["waiting_since"],
        last_seq=row["last_seq"], last_note_seq=row["last_note_seq"],
        visitor_read_seq=row["visitor_read_seq"], agent_read_seq=row["agent_read_seq"],
        closed_at=row["closed_at"], emailed_seq=row["emailed_seq"],
    )


def message(row: Row) -> Message:
    return Message(
        conversation_id=row["conversation_id"], seq=row["seq"], note_seq=row["note_seq"],
        author=Author(row["author_role"], row["author_name"], row["author_id"]),
        text=row["text"], at=row["created_at"], client_id=row["client_id"],
        attachment=attachment_ref(row),
    )


def attachment_ref(row: Row) -> FileRef | None:
    """The file a message carries, from the `attachment` column of MESSAGE_COLUMNS (JSON;
    absent from a bare message row: the attachment is then added by the caller)."""
    # keys(): `in` on a SQLite `Row` looks through its values
    found = row["attachment"] if "attachment" in row.keys() else None  # noqa: SIM118
    return FileRef(**orjson.loads(found)) if found else None


def inbox_entry(r: Row) -> InboxEntry:
    """A row of a backend's console list (its LIST_SELECT)."""
    return {
        "id": r["id"], "status": r["status"], "created_at": r["created_at"],
        "waiting_since": r["waiting_since"], "closed_at": r["closed_at"],
        "escalated_at": r["escalated_at"], "escalation_note": r["escalation_note"],
        "rating": r["rating_score"],
        "customer_id": r["customer_id"],
        "agent": {"id": r["agent_id"], "name": r["agent_name"]} if r["agent_id"] else None,
        "visitor": Visitor(
            id=r["visitor_id"], name=r["visitor_name"], email=r["visitor_email"],
            verified=bool(r["visitor_verified"]), customer_id=r["visitor_customer_id"],
            page=r["visitor_page"], timezone=r["visitor_timezone"],
            customer_name=r["customer_name"],
            purchase_verified=r["purchase_verified_at"] is not None).public(),
        "last_message": r["last_text"],
        "unread": r["unread"],
        "unanswered_since": r["unanswered_since"] if r["status"] != "closed" else None,
        "erased": r["erased_at"] is not None,
    }


def follow_up(r: Row) -> FollowUp:
    """A row of a backend's FOLLOW_UP_SELECT."""
    return {"id": r["id"], "conversation_id": r["conversation_id"], "due_at": r["due_at"],
            "note": r["note"], "created_at": r["created_at"], "done_at": r["done_at"],
            "overdue": r["done_at"] is None and r["due_at"] < iso(now()),
            "agent": {"id": r["agent_id"], "name": r["agent_name"]},
            "visitor": {"name": shown_name(r["visitor_name"], r["customer_name"]),
                        "email": r["visitor_email"]}}


def order(row: Row, verified_in: Iterable[int]) -> dict[str, Any]:
    """An order's row with what it had `refunded` and has `reserved` for approvals, what the
    shop's platform reports refunded, and the conversations it was verified in."""
    return {
        "id": row["id"], "external_id": row["external_id"], "customer_id": row["customer_id"],
        "email": row["email"], "name": row["name"], "product": row["product"],
        "amount_cents": row["amount_cents"], "currency": row["currency"],
        "purchased_at": row["purchased_at"], "status": row["status"],
        "refunded_cents": row["refunded"], "pending_cents": row["reserved"],
        "shop_refunded_cents": row["shop_refunded_cents"],
        "refundable_cents": ledger.refundable(row["amount_cents"], row["refunded"],
                                              row["reserved"], row["shop_refunded_cents"]),
        "provider": row["provider"], "provider_payment_id": row["provider_payment_id"],
        "verified_in_conversations": list(verified_in),
    }


def entry(row: Row) -> dict[str, Any]:
    """A ledger row with its `agent_name` and `order_external_id`."""
    found = {k: row[k] for k in ("id", "kind", "customer_id", "order_id", "order_external_id",
                                 "conversation_id", "amount_cents", "currency", "reason",
                                 "expires_at", "approval_id", "provider", "provider_refund_id",
                                 "provider_status", "provider_error", "created_at")}
    found["agent"] = {"id": row["agent_id"], "name": row["agent_name"]}
    found["instructions"] = provider_named(row["provider"]).instructions(found)
    return found


def approval(row: Row) -> dict[str, Any]:
    """An approval's row with who asked and decided, and its order's external id."""
    found = {k: row[k] for k in ("id", "kind", "status", "customer_id", "order_id",
                                 "order_external_id", "conversation_id", "amount_cents",
                                 "currency", "reason", "expires_at", "created_at", "decided_at",
                                 "note")}
    found["why"] = [w for w in row["why"].split("; ") if w]
    found["requested_by"] = {"id": row["requested_by"], "name": row["requested_by_name"]}
    found["decided_by"] = ({"id": row["decided_by"], "name": row["decided_by_name"]}
                           if row["decided_by"] else None)
    return found


def webhook_delivery(row: Row) -> WebhookDelivery:
    pending = row["status"] == "pending"
    return WebhookDelivery(
        id=row["id"], webhook_id=webhook_id(row["id"]), endpoint_id=row["endpoint_id"],
        type=row["type"],
        subject=row["subject"], created_at=row["created_at"], status=row["status"],
        attempts=row["attempts"],
        # a new one (next_at 0) is due at once: as soon as it was made
        next_at=(iso(row["next_at"]) if row["next_at"] else row["created_at"]) if pending
        else None,
        answer_status=row["answer_status"], answer_excerpt=row["answer_excerpt"],
        tried_at=row["tried_at"])


def webhook_endpoint(row: Row, deliveries: list[WebhookDelivery]) -> WebhookEndpoint:
    return WebhookEndpoint(id=row["id"], url=row["url"], events=events_of(row["events"]),
                           created_at=row["created_at"], deliveries=deliveries)


def new_webhook_endpoint(row: Row) -> NewWebhookEndpoint:
    return NewWebhookEndpoint(**webhook_endpoint(row, []), secret=row["secret"])


def claimed_delivery(row: Row) -> ClaimedDelivery:
    return ClaimedDelivery(row["id"], row["type"], row["subject"], row["created_at"],
                           row["attempts"], row["body"], row["url"], row["secret"])


def held_visitor(row: Row) -> dict[str, Any]:
    """A visitor's row as an export shows it (store/*/privacy.py's VISITOR_SELECT)."""
    return {"id": row["id"], "name": row["name"], "email": row["email"],
            "verified": bool(row["verified"]), "customer_id": row["customer_id"],
            "page": row["page"], "timezone": row["timezone"], "created_at": row["created_at"],
            "purchase_verified_at": row["purchase_verified_at"]}


def held_conversation(row: Row) -> dict[str, Any]:
    """A conversation's row as an export shows it (store/*/privacy.py's CONVERSATION_SELECT)."""
    found = {k: row[k] for k in ("id", "visitor_id", "customer_id", "status", "created_at",
                                 "closed_at", "closed_by", "escalated_at", "escalation_note",
                                 "erased_at")}
    found["agent"] = {"id": row["agent_id"], "name": row["agent_name"]} if row["agent_id"] \
        else None
    found["rating"] = ({"score": row["rating_score"], "comment": row["rating_comment"],
                        "at": row["rated_at"]} if row["rating_score"] is not None else None)
    return found
