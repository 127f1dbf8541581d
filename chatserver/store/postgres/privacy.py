"""A customer's data gathered for an export, or erased on request; closed conversations
erased once the retention period has passed: as SQLite's (sqlite/privacy.py), as async
functions over a connection, and PostgresStore's methods that run them (the class at the end).

What is erased is overwritten in place (`ERASED`, or NULL); the search index is an expression
index over the text, so it follows. The old row versions stay in the table's files until
VACUUM frees their space and later writes reuse it (docs/privacy.md).
"""

from __future__ import annotations

from chatserver.domain.clock import iso
from chatserver.domain.errors import Refused
from chatserver.store import clock, records
from chatserver.store.base import ERASED, Erased, PrivacyFacts
from chatserver.store.postgres import rows, views
from chatserver.store.postgres.attachments import AttachmentMethods
from chatserver.store.postgres.connection import Connection
from chatserver.store.postgres.customers import audit, canonical
from chatserver.store.postgres.inbox import FOLLOW_UP_SELECT

# the customer's visitors: linked to them, or chatting in a conversation linked to them
VISITORS = ("SELECT id FROM visitors WHERE customer_id = $1 UNION "
            "SELECT visitor_id FROM conversations WHERE customer_id = $1")
CONVERSATIONS = f"SELECT id FROM conversations WHERE customer_id = $1 OR visitor_id IN ({VISITORS})"
CONVERSATION_SELECT = ("SELECT c.*, a.name AS agent_name FROM conversations c "
                       "LEFT JOIN agents a ON a.id = c.agent_id ")


async def facts(db: Connection, customer_id: int) -> PrivacyFacts | None:
    found = await canonical(db, customer_id)
    if found is None:
        return None
    return PrivacyFacts(
        customer=await views.customer(db, found),
        visitors=[records.held_visitor(r) for r in await db.fetch(
            f"SELECT * FROM visitors WHERE id IN ({VISITORS}) ORDER BY id", found)],
        conversations=[records.held_conversation(r) for r in await db.fetch(
            f"{CONVERSATION_SELECT} WHERE c.id IN ({CONVERSATIONS}) ORDER BY c.id", found)],
        messages=[records.message(r) for r in await db.fetch(
            f"SELECT {rows.MESSAGE_COLUMNS} FROM messages "
            f"WHERE conversation_id IN ({CONVERSATIONS}) "
            "ORDER BY conversation_id, id", found)],
        follow_ups=[records.follow_up(r) for r in await db.fetch(
            f"{FOLLOW_UP_SELECT} WHERE f.conversation_id IN ({CONVERSATIONS}) ORDER BY f.id",
            found)])


async def erase_customer(db: Connection, customer_id: int, actor_id: int | None,
                         reason: str) -> Erased | None:
    found = await canonical(db, customer_id)
    if found is None:
        return None
    # locked, so no message lands in a conversation being erased
    rows = await db.fetch(f"SELECT id, status FROM conversations WHERE id IN ({CONVERSATIONS}) "
                          "ORDER BY id FOR UPDATE", found)
    if any(r["status"] != "closed" for r in rows):
        raise Refused(409, "conflict", "the customer has an open conversation: close it first")
    visitor_ids = [r[0] for r in await db.fetch(f"{VISITORS} ORDER BY 1", found)]
    conversation_ids = [int(r["id"]) for r in rows]
    await erase_conversations(db, conversation_ids)
    await db.execute("UPDATE visitors SET name = NULL, email = NULL, page = NULL, "
                     "timezone = NULL, verified = FALSE WHERE id = ANY($1)", visitor_ids)
    await db.execute("DELETE FROM visitor_tokens WHERE visitor_id = ANY($1)", visitor_ids)
    await db.execute("DELETE FROM attachments WHERE uploader_kind = 'visitor' AND "
                     "conversation_id IS NULL AND uploader_id = ANY($1)",
                     visitor_ids)  # uploaded, never sent
    records_of = await merged_records(db, found)
    await db.execute("UPDATE customers SET email = NULL, name = NULL, external_user_id = NULL, "
                     "erased_at = COALESCE(erased_at, $1) WHERE id = ANY($2)",
                     iso(clock.now()), records_of)
    await db.execute("UPDATE orders SET email = $1, name = NULL WHERE customer_id = ANY($2)",
                     ERASED, records_of)
    await audit(db, actor_id, "customer.erased", found,
                {"reason": reason, "visitors": len(visitor_ids),
                 "conversations": len(conversation_ids)})
    return Erased(found, visitor_ids, conversation_ids)


async def merged_records(db: Connection, customer_id: int) -> list[int]:
    """The customer's record and every record merged into it (they kept their old details)."""
    return [int(r[0]) for r in await db.fetch(
        "WITH RECURSIVE kept(id) AS (SELECT $1::bigint UNION SELECT c.id FROM customers c "
        "JOIN kept ON c.merged_into = kept.id) SELECT id FROM kept ORDER BY id", customer_id)]


async def erase_conversations(db: Connection, conversation_ids: list[int]) -> None:
    """Their texts overwritten, their ratings' comments, escalation notes and follow-ups'
    notes too; their files deleted; flagged erased."""
    await db.execute("UPDATE messages SET text = $1, author_name = CASE author_role WHEN "
                     "'visitor' THEN $1 ELSE author_name END WHERE conversation_id = ANY($2)",
                     ERASED, conversation_ids)
    await db.execute("UPDATE follow_ups SET note = $1 WHERE conversation_id = ANY($2)",
                     ERASED, conversation_ids)
    await db.execute("UPDATE messages SET attachment_id = NULL WHERE conversation_id = ANY($1) "
                     "AND attachment_id IS NOT NULL", conversation_ids)
    await db.execute("DELETE FROM attachments WHERE conversation_id = ANY($1)", conversation_ids)
    await db.execute("UPDATE conversations SET rating_comment = NULL, escalation_note = NULL, "
                     "erased_at = COALESCE(erased_at, $1) WHERE id = ANY($2)",
                     iso(clock.now()), conversation_ids)
    # the webhooks' copies of what was said (a delivery keeps the body it first sent)
    await db.execute("DELETE FROM webhook_deliveries WHERE (type LIKE 'conversation.%' AND "
                     "subject = ANY($1)) OR (type = 'message.created' AND subject IN (SELECT id "
                     "FROM messages WHERE conversation_id = ANY($1))) OR (type = 'follow_up.due' "
                     "AND subject IN (SELECT id FROM follow_ups WHERE conversation_id = ANY($1)))",
                     conversation_ids)


async def erase_closed_before(db: Connection, before: str, limit: int) -> list[int]:
    ids = [int(r[0]) for r in await db.fetch(
        "SELECT id FROM conversations WHERE status = 'closed' AND erased_at IS NULL AND "
        "closed_at < $1 ORDER BY closed_at LIMIT $2 FOR UPDATE", before, limit)]
    if ids:
        await erase_conversations(db, ids)
    return ids


class PrivacyMethods(AttachmentMethods):  # an erase sweeps ATTACHMENTS_DIR too
    async def privacy_facts(self, customer_id: int) -> PrivacyFacts | None:
        return await self.read(lambda db: facts(db, customer_id))

    async def erase_customer(self, customer_id: int, actor_id: int | None,
                             reason: str) -> Erased | None:
        erased = await self.transaction(
            lambda db: erase_customer(db, customer_id, actor_id, reason))
        await self.sweep_files()
        return erased

    async def erase_closed_before(self, before: str, limit: int) -> list[int]:
        erased = await self.transaction(lambda db: erase_closed_before(db, before, limit))
        if erased:
            await self.sweep_files()
        return erased
