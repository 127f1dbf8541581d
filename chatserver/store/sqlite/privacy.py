"""A customer's data gathered for an export, or erased on request; closed conversations
erased once the retention period has passed. Plain functions over a `sqlite3.Connection`,
and SqliteStore's methods that run them (the class at the end).

What is erased is overwritten in place (`ERASED`, or NULL), so conversation numbers and the
ledger's references hold; the connection's `secure_delete` zeroes the old text's bytes, the
search index forgets it (FTS5 keeps deleted terms until its segments are merged, so they are
merged: `optimize`), and the WAL, whose frames hold old copies of pages, is cut to nothing
once the erase is committed (upkeep.py).
"""

from __future__ import annotations

import json
import sqlite3
from functools import partial

from chatserver.domain.clock import iso
from chatserver.domain.errors import Refused
from chatserver.store import clock, records
from chatserver.store.base import ERASED, Erased, PrivacyFacts
from chatserver.store.sqlite import rows, views
from chatserver.store.sqlite.attachments import AttachmentMethods
from chatserver.store.sqlite.customers import audit, canonical
from chatserver.store.sqlite.inbox import FOLLOW_UP_SELECT, index_new_messages
from chatserver.store.sqlite.upkeep import Upkeep

# the customer's visitors: linked to them, or chatting in a conversation linked to them
VISITORS = ("SELECT id FROM visitors WHERE customer_id = :customer UNION "
            "SELECT visitor_id FROM conversations WHERE customer_id = :customer")
CONVERSATIONS = (f"SELECT id FROM conversations WHERE customer_id = :customer OR "
                 f"visitor_id IN ({VISITORS})")
CONVERSATION_SELECT = ("SELECT c.*, a.name AS agent_name FROM conversations c "
                       "LEFT JOIN agents a ON a.id = c.agent_id ")
IN_LIST = "IN (SELECT value FROM json_each(?))"


def facts(db: sqlite3.Connection, customer_id: int) -> PrivacyFacts | None:
    found = canonical(db, customer_id)
    if found is None:
        return None
    who = {"customer": found}
    return PrivacyFacts(
        customer=views.customer(db, found),
        visitors=[records.held_visitor(r) for r in db.execute(
            f"SELECT * FROM visitors WHERE id IN ({VISITORS}) ORDER BY id", who)],
        conversations=[records.held_conversation(r) for r in db.execute(
            f"{CONVERSATION_SELECT} WHERE c.id IN ({CONVERSATIONS}) ORDER BY c.id", who)],
        messages=[records.message(r) for r in db.execute(
            f"SELECT {rows.MESSAGE_COLUMNS} FROM messages "
            f"WHERE conversation_id IN ({CONVERSATIONS}) "
            "ORDER BY conversation_id, id", who)],
        follow_ups=[records.follow_up(r) for r in db.execute(
            f"{FOLLOW_UP_SELECT} WHERE f.conversation_id IN ({CONVERSATIONS}) ORDER BY f.id",
            who)])


def erase_customer(db: sqlite3.Connection, customer_id: int, actor_id: int | None,
                   reason: str) -> Erased | None:
    found = canonical(db, customer_id)
    if found is None:
        return None
    who = {"customer": found}
    if db.execute(f"SELECT 1 FROM conversations WHERE id IN ({CONVERSATIONS}) AND "
                  "status != 'closed'", who).fetchone() is not None:
        raise Refused(409, "conflict", "the customer has an open conversation: close it first")
    visitor_ids = [r[0] for r in db.execute(f"{VISITORS} ORDER BY 1", who)]
    conversation_ids = [r[0] for r in db.execute(f"{CONVERSATIONS} ORDER BY 1", who)]
    erase_conversations(db, conversation_ids)
    visitors = json.dumps(visitor_ids)
    db.execute("UPDATE visitors SET name = NULL, email = NULL, page = NULL, timezone = NULL, "
               f"verified = 0 WHERE id {IN_LIST}", (visitors,))
    db.execute(f"DELETE FROM visitor_tokens WHERE visitor_id {IN_LIST}", (visitors,))
    db.execute("DELETE FROM attachments WHERE uploader_kind = 'visitor' AND conversation_id "
               f"IS NULL AND uploader_id {IN_LIST}", (visitors,))  # uploaded, never sent
    records_of = merged_records(db, found)
    db.execute("UPDATE customers SET email = NULL, name = NULL, external_user_id = NULL, "
               f"erased_at = COALESCE(erased_at, ?) WHERE id {IN_LIST}",
               (iso(clock.now()), json.dumps(records_of)))
    db.execute(f"UPDATE orders SET email = ?, name = NULL WHERE customer_id {IN_LIST}",
               (ERASED, json.dumps(records_of)))
    audit(db, actor_id, "customer.erased", found,
          {"reason": reason, "visitors": len(visitor_ids),
           "conversations": len(conversation_ids)})
    return Erased(found, visitor_ids, conversation_ids)


def merged_records(db: sqlite3.Connection, customer_id: int) -> list[int]:
    """The customer's record and every record merged into it (they kept their old details)."""
    return [r[0] for r in db.execute(
        "WITH RECURSIVE kept(id) AS (SELECT ? UNION SELECT c.id FROM customers c JOIN kept "
        "ON c.merged_into = kept.id) SELECT id FROM kept ORDER BY id", (customer_id,))]


def erase_conversations(db: sqlite3.Connection, conversation_ids: list[int]) -> None:
    """Their texts overwritten (and out of the search index), their ratings' comments,
    escalation notes and follow-ups' notes too; their files deleted; flagged erased."""
    if not conversation_ids:  # nothing to take out of the index: no merge of it
        return
    ids = json.dumps(conversation_ids)
    index_new_messages(db)  # so every text is in the index, and taken out of it below
    db.execute("INSERT INTO messages_search (messages_search, rowid, text) SELECT 'delete', "
               f"id, text FROM messages WHERE conversation_id {IN_LIST} AND text != ?",
               (ids, ERASED))
    db.execute("INSERT INTO messages_search (messages_search) VALUES ('optimize')")
    db.execute("UPDATE messages SET text = ?, author_name = CASE author_role WHEN 'visitor' "
               f"THEN ? ELSE author_name END WHERE conversation_id {IN_LIST}",
               (ERASED, ERASED, ids))
    db.execute("UPDATE follow_ups SET note = ? WHERE conversation_id " + IN_LIST, (ERASED, ids))
    db.execute(f"UPDATE messages SET attachment_id = NULL WHERE conversation_id {IN_LIST} AND "
               "attachment_id IS NOT NULL", (ids,))
    db.execute(f"DELETE FROM attachments WHERE conversation_id {IN_LIST}", (ids,))
    db.execute("UPDATE conversations SET rating_comment = NULL, escalation_note = NULL, "
               f"erased_at = COALESCE(erased_at, ?) WHERE id {IN_LIST}",
               (iso(clock.now()), ids))
    # the webhooks' copies of what was said (a delivery keeps the body it first sent)
    db.execute("DELETE FROM webhook_deliveries WHERE (type LIKE 'conversation.%' AND subject "
               f"{IN_LIST}) OR (type = 'message.created' AND subject IN (SELECT id FROM "
               f"messages WHERE conversation_id {IN_LIST})) OR (type = 'follow_up.due' AND "
               f"subject IN (SELECT id FROM follow_ups WHERE conversation_id {IN_LIST}))",
               (ids, ids, ids))


def erase_closed_before(db: sqlite3.Connection, before: str, limit: int) -> list[int]:
    ids = [r[0] for r in db.execute(
        "SELECT id FROM conversations WHERE status = 'closed' AND erased_at IS NULL AND "
        "closed_at < ? ORDER BY closed_at LIMIT ?", (before, limit))]
    if ids:
        erase_conversations(db, ids)
    return ids


class PrivacyMethods(AttachmentMethods):  # an erase sweeps ATTACHMENTS_DIR too
    _upkeep: Upkeep  # SqliteStore's: it cuts the WAL after an erase

    async def privacy_facts(self, customer_id: int) -> PrivacyFacts | None:
        return await self.read(partial(facts, customer_id=customer_id))

    async def erase_customer(self, customer_id: int, actor_id: int | None,
                             reason: str) -> Erased | None:
        erased = await self.transaction(partial(erase_customer, customer_id=customer_id,
                                                actor_id=actor_id, reason=reason))
        await self._upkeep.wipe_log()
        await self.sweep_files()
        return erased

    async def erase_closed_before(self, before: str, limit: int) -> list[int]:
        erased = await self.transaction(partial(erase_closed_before, before=before,
                                                limit=limit))
        if erased:
            await self._upkeep.wipe_log()
            await self.sweep_files()
        return erased
