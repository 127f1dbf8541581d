"""Rows to domain records, and the SELECTs that feed them (shared by reads and writes)."""

from __future__ import annotations

import sqlite3
from typing import Any

from chatserver.domain.models import Agent, Author, Conversation, Message, Visitor

Row = Any  # sqlite3.Row, or any mapping of column names

AGENT_COLUMNS = "id, email, name, role, capacity, status, disabled"
# a visitor with the name of the customer they are linked to
VISITOR_SELECT = ("SELECT v.*, cu.name AS customer_name FROM visitors v "
                  "LEFT JOIN customers cu ON cu.id = v.customer_id ")
CONVERSATION_SELECT = (
    "SELECT c.*, a.name AS agent_name FROM conversations c "
    "LEFT JOIN agents a ON a.id = c.agent_id "
)
MESSAGE_COLUMNS = (
    "conversation_id, seq, note_seq, author_role, author_id, author_name, client_id, text, "
    "created_at"
)


def agent(row: Row) -> Agent:
    return Agent(id=row["id"], email=row["email"], name=row["name"], role=row["role"],
                 capacity=row["capacity"], status=row["status"], disabled=bool(row["disabled"]))


def visitor(row: Row) -> Visitor:
    """A row of `VISITOR_SELECT`."""
    return Visitor(id=row["id"], name=row["name"], email=row["email"],
                   verified=bool(row["verified"]), customer_id=row["customer_id"],
                   page=row["page"], timezone=row["timezone"],
                   customer_name=row["customer_name"],
                   purchase_verified=row["purchase_verified_at"] is not None)


def fetch_visitor(db: sqlite3.Connection, visitor_id: str) -> Visitor | None:
    row = db.execute(VISITOR_SELECT + "WHERE v.id = ?", (visitor_id,)).fetchone()
    return visitor(row) if row else None


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
    )


def fetch_conversation(db: sqlite3.Connection, conversation_id: int) -> Conversation | None:
    row = db.execute(CONVERSATION_SELECT + "WHERE c.id = ?", (conversation_id,)).fetchone()
    return conversation(row) if row else None
