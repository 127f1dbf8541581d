"""The SELECTs that feed the records (store/records.py), shared by reads and writes."""

from __future__ import annotations

import sqlite3

from chatserver.domain.models import Conversation, Visitor
from chatserver.store.records import agent, conversation, message, visitor

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
    "created_at, (SELECT json_object('id', a.id, 'name', a.name, 'content_type', "
    "a.content_type, 'size', a.size) FROM attachments a WHERE a.id = attachment_id) "
    "AS attachment"
)


def fetch_visitor(db: sqlite3.Connection, visitor_id: str) -> Visitor | None:
    row = db.execute(VISITOR_SELECT + "WHERE v.id = ?", (visitor_id,)).fetchone()
    return visitor(row) if row else None


def fetch_conversation(db: sqlite3.Connection, conversation_id: int) -> Conversation | None:
    row = db.execute(CONVERSATION_SELECT + "WHERE c.id = ?", (conversation_id,)).fetchone()
    return conversation(row) if row else None


__all__ = ["agent", "conversation", "fetch_conversation", "fetch_visitor", "message", "visitor"]
