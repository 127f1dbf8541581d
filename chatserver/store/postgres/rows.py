"""The SELECTs that feed the records (store/records.py), shared by reads and writes."""

from __future__ import annotations

from chatserver.domain.models import Conversation, Visitor
from chatserver.store import records
from chatserver.store.postgres.connection import Connection

AGENT_COLUMNS = "id, email, name, role, capacity, status, disabled"
# a visitor with the name of the customer they are linked to
VISITOR_SELECT = ("SELECT v.*, cu.name AS customer_name FROM visitors v "
                  "LEFT JOIN customers cu ON cu.id = v.customer_id ")
CONVERSATION_SELECT = ("SELECT c.*, a.name AS agent_name FROM conversations c "
                       "LEFT JOIN agents a ON a.id = c.agent_id ")
MESSAGE_COLUMNS = ("conversation_id, seq, note_seq, author_role, author_id, author_name, "
                   "client_id, text, created_at, (SELECT json_build_object('id', a.id, "
                   "'name', a.name, 'content_type', a.content_type, 'size', a.size)::text "
                   "FROM attachments a WHERE a.id = attachment_id) AS attachment")


async def fetch_visitor(db: Connection, visitor_id: str) -> Visitor | None:
    row = await db.fetchrow(VISITOR_SELECT + "WHERE v.id = $1", visitor_id)
    return records.visitor(row) if row else None


async def fetch_conversation(db: Connection, conversation_id: int) -> Conversation | None:
    row = await db.fetchrow(CONVERSATION_SELECT + "WHERE c.id = $1", conversation_id)
    return records.conversation(row) if row else None


def changed(status: str) -> int:
    """How many rows an UPDATE or DELETE changed, from its status (`UPDATE 1`)."""
    return int(status.rsplit(" ", 1)[-1])
