"""The console's lists: conversations by view, full-text search over transcripts, follow-ups,
canned responses; and escalation. Plain functions over a `sqlite3.Connection`;
SqliteStore's console methods (the class at the end) run them, each its namesake."""

from __future__ import annotations

import json
import re
import sqlite3
from functools import partial
from typing import Any

from chatserver.domain.clock import iso, now
from chatserver.domain.errors import Refused
from chatserver.domain.models import SYSTEM, Message
from chatserver.store import records
from chatserver.store.base import Canned, FollowUp, InboxEntry
from chatserver.store.sqlite.connection import Runs
from chatserver.store.sqlite.conversations import insert_message
from chatserver.store.types import OnCommit

# a message's text, or the name of the file it carries alone
SAID = ("COALESCE(NULLIF(text, ''), (SELECT '[attachment: ' || f.name || ']' FROM attachments f "
        "WHERE f.id = attachment_id), text)")
LIST_SELECT = f"""
SELECT c.id, c.status, c.created_at, c.waiting_since, c.closed_at, c.escalated_at,
       c.escalation_note, c.erased_at,
       c.rating_score, c.customer_id, c.agent_id, a.name AS agent_name,
       v.id AS visitor_id, v.name AS visitor_name, v.email AS visitor_email,
       v.verified AS visitor_verified, v.page AS visitor_page, v.timezone AS visitor_timezone,
       v.purchase_verified_at, v.customer_id AS visitor_customer_id, cu.name AS customer_name,
       (SELECT {SAID} FROM messages WHERE conversation_id = c.id AND seq IS NOT NULL
            AND author_role != 'system' ORDER BY seq DESC LIMIT 1) AS last_text,
       (SELECT COUNT(*) FROM messages WHERE conversation_id = c.id AND author_role = 'visitor'
            AND seq > c.agent_read_seq) AS unread,
       c.unanswered_since
FROM conversations c JOIN visitors v ON v.id = c.visitor_id
LEFT JOIN customers cu ON cu.id = v.customer_id
LEFT JOIN agents a ON a.id = c.agent_id
"""
VIEWS = {
    "mine": ("c.status = 'active' AND c.agent_id = :agent", "c.id"),
    "queued": ("c.status = 'queued'", "c.queue_rank"),
    "open": ("c.status != 'closed'", "c.id"),
    # open, its visitor unanswered since :before or longer (the watch of supervision.py)
    "unanswered": ("c.status != 'closed' AND c.unanswered_since <= :before", "c.id"),
    "closed": ("c.status = 'closed' AND (:oversee OR c.agent_id = :agent)", "c.closed_at DESC"),
    "all": (":oversee OR c.agent_id = :agent", "c.id DESC"),
}


def conversations(db: sqlite3.Connection, view: str, agent_id: int, oversee: bool,
                  query: str | None, limit: int, before: str | None = None
                  ) -> list[InboxEntry]:
    """A view of conversations; with `query`, only those whose transcript or customer's name
    (of a verified visitor) matches it, each with the `snippet` that matches."""
    view_where, order = VIEWS[view]
    conditions = [f"({view_where})"]
    args: dict[str, Any] = {"agent": agent_id, "oversee": oversee, "limit": limit,
                            "before": before}
    terms = search_terms(query) if query else []
    for n, term in enumerate(terms):
        # each word anywhere in the transcript, the name of the customer the visitor is
        # verified as or of a file sent, not all of them in one message
        conditions.append(f"c.id IN (SELECT m.conversation_id FROM messages_search s JOIN "
                          f"messages m ON m.id = s.rowid WHERE messages_search MATCH :w{n} "
                          f"UNION ALL SELECT linked.id FROM customers named JOIN visitors known "
                          f"ON known.customer_id = named.id JOIN conversations linked ON "
                          f"linked.visitor_id = known.id WHERE ' ' || named.name LIKE :n{n} "
                          f"ESCAPE '\\' UNION ALL SELECT f.conversation_id FROM attachments f "
                          f"WHERE f.conversation_id IS NOT NULL AND ' ' || f.name LIKE :n{n} "
                          f"ESCAPE '\\')")
        args[f"w{n}"] = term
        args[f"n{n}"] = _word_start(term)
    found = db.execute(f"{LIST_SELECT} WHERE {' AND '.join(conditions)} ORDER BY {order} "
                       "LIMIT :limit", args)
    rows = [records.inbox_entry(r) for r in found]
    if terms:
        found_words = matching_words(db, [row["id"] for row in rows], terms)
        for row in rows:
            row["snippet"] = found_words.get(row["id"])
    return rows


def matching_words(db: sqlite3.Connection, conversation_ids: list[int],
                   terms: list[str]) -> dict[int, str]:
    """The searched words in their context, by conversation: FTS5's snippet of the message
    that matches best (one pass over the matches, as the search itself makes)."""
    found = db.execute(
        "SELECT m.conversation_id, snippet(messages_search, 0, '', '', '…', 12) "
        "FROM messages_search JOIN messages m ON m.id = messages_search.rowid "
        "WHERE messages_search MATCH ? AND m.conversation_id IN (SELECT value FROM json_each(?)) "
        "ORDER BY rank", (" OR ".join(terms), json.dumps(conversation_ids)))
    best: dict[int, str] = {}
    for conversation_id, words in found:
        best.setdefault(conversation_id, words)
    return best


def index_new_messages(db: sqlite3.Connection) -> None:
    """Add the messages written since the last call to the search index (upkeep.py)."""
    db.execute("INSERT INTO messages_search (rowid, text) SELECT id, text FROM messages "
               "WHERE id > (SELECT upto FROM search_indexed)")
    db.execute("UPDATE search_indexed SET upto = COALESCE((SELECT MAX(id) FROM messages), upto)")


# Each word is a condition of the query: SQLite refuses an expression a thousand deep, and
# no one searches a transcript for a paragraph.
MAX_SEARCH_CHARS = 200
MAX_SEARCH_WORDS = 10


def search_terms(text: str) -> list[str]:
    """What a person types, as FTS5 terms: each word, matching as a prefix too."""
    if len(text) > MAX_SEARCH_CHARS:
        raise Refused(422, "invalid", f"a search is at most {MAX_SEARCH_CHARS} characters")
    words = re.findall(r"\w+", text)
    if not words:
        raise Refused(422, "invalid", "search for at least one word")
    if len(words) > MAX_SEARCH_WORDS:
        raise Refused(422, "invalid", f"search for at most {MAX_SEARCH_WORDS} words")
    return [f'"{w}"*' for w in words]


def _word_start(term: str) -> str:
    """A LIKE pattern for a name (after a space) with a word starting as the FTS5 term
    `"word"*` does (a word is letters, digits and `_`, LIKE's one wildcard among them)."""
    word = term.removeprefix('"').removesuffix('"*')
    return "% " + word.replace("_", "\\_") + "%"


def history(db: sqlite3.Connection, conversation_id: int) -> list[InboxEntry]:
    """The visitor's (and their customer's) other conversations, newest first."""
    found = db.execute(
        f"{LIST_SELECT} WHERE c.id != :id AND (c.visitor_id = (SELECT visitor_id FROM "
        "conversations WHERE id = :id) OR c.customer_id = (SELECT customer_id FROM "
        "conversations WHERE id = :id)) ORDER BY c.id DESC LIMIT 20", {"id": conversation_id})
    return [records.inbox_entry(r) for r in found]


def escalate(db: sqlite3.Connection, conversation_id: int, note: str | None,
             announcement: str) -> Message:
    if not db.execute("UPDATE conversations SET escalated_at = ?, escalation_note = ? "
                      "WHERE id = ? AND status != 'closed'",
                      (iso(now()), note, conversation_id)).rowcount:
        raise Refused(404, "not_found", "no such open conversation")
    return insert_message(db, conversation_id, SYSTEM, announcement)


# --- follow-ups: "I'll get back to you by ..." ---------------------------------------------
def add_follow_up(db: sqlite3.Connection, conversation_id: int, agent_id: int, due_at: str,
                  note: str, announcement: str) -> tuple[FollowUp, Message]:
    if db.execute("SELECT 1 FROM conversations WHERE id = ?",
                  (conversation_id,)).fetchone() is None:
        raise Refused(404, "not_found", "no such conversation")
    cursor = db.execute("INSERT INTO follow_ups (conversation_id, agent_id, due_at, note, "
                        "created_at) VALUES (?, ?, ?, ?, ?)",
                        (conversation_id, agent_id, due_at, note, iso(now())))
    return (follow_up(db, int(cursor.lastrowid or 0)),
            insert_message(db, conversation_id, SYSTEM, announcement))


FOLLOW_UP_SELECT = ("SELECT f.*, a.name AS agent_name, v.name AS visitor_name, "
                    "cu.name AS customer_name, v.email AS visitor_email FROM follow_ups f "
                    "JOIN agents a ON a.id = f.agent_id JOIN conversations c ON "
                    "c.id = f.conversation_id JOIN visitors v ON v.id = c.visitor_id "
                    "LEFT JOIN customers cu ON cu.id = v.customer_id ")


def follow_up(db: sqlite3.Connection, follow_up_id: int) -> FollowUp:
    row = db.execute(FOLLOW_UP_SELECT + "WHERE f.id = ?", (follow_up_id,)).fetchone()
    if row is None:
        raise Refused(404, "not_found", "no such follow-up")
    return records.follow_up(row)


def follow_ups(db: sqlite3.Connection, agent_id: int | None,
               include_done: bool) -> list[FollowUp]:
    """Open follow-ups (and done ones if asked), soonest due first; one agent's or all."""
    where = "WHERE (? IS NULL OR f.agent_id = ?)" + ("" if include_done else
                                                     " AND f.done_at IS NULL")
    found = db.execute(FOLLOW_UP_SELECT + where + " ORDER BY f.due_at", (agent_id, agent_id))
    return [records.follow_up(r) for r in found]


def complete_follow_up(db: sqlite3.Connection, follow_up_id: int) -> FollowUp:
    found = follow_up(db, follow_up_id)
    if found["done_at"] is None:
        db.execute("UPDATE follow_ups SET done_at = ? WHERE id = ?", (iso(now()), follow_up_id))
    return follow_up(db, follow_up_id)


# --- canned responses ------------------------------------------------------------------
def canned(db: sqlite3.Connection) -> list[Canned]:
    return [Canned(id=r["id"], shortcut=r["shortcut"], text=r["text"]) for r in db.execute(
        "SELECT id, shortcut, text FROM canned_responses ORDER BY shortcut")]


def add_canned(db: sqlite3.Connection, shortcut: str, text: str) -> Canned:
    try:
        cursor = db.execute("INSERT INTO canned_responses (shortcut, text, created_at) "
                            "VALUES (?, ?, ?)", (shortcut, text, iso(now())))
    except sqlite3.IntegrityError:
        raise Refused(409, "conflict", f"/{shortcut} already exists") from None
    return Canned(id=int(cursor.lastrowid or 0), shortcut=shortcut, text=text)


def delete_canned(db: sqlite3.Connection, canned_id: int) -> None:
    if not db.execute("DELETE FROM canned_responses WHERE id = ?", (canned_id,)).rowcount:
        raise Refused(404, "not_found", "no such canned response")


class ConsoleMethods(Runs):
    async def inbox(self, view: str, agent_id: int, oversee: bool, query: str | None,
                    limit: int) -> list[InboxEntry]:
        if query:  # the index is brought up to date once a second; a search sees everything
            await self.transaction(index_new_messages)
        return await self.read(partial(conversations, view=view, agent_id=agent_id,
                                       oversee=oversee, query=query, limit=limit))

    async def unanswered(self, before: str, limit: int) -> list[InboxEntry]:
        return await self.read(partial(conversations, view="unanswered", agent_id=0,
                                       oversee=True, query=None, limit=limit, before=before))

    async def history(self, conversation_id: int) -> list[InboxEntry]:
        return await self.read(partial(history, conversation_id=conversation_id))

    async def escalate(self, conversation_id: int, note: str | None, announcement: str,
                       on_commit: OnCommit[Message] = None) -> Message:
        return await self.transaction(partial(escalate, conversation_id=conversation_id,
                                              note=note, announcement=announcement), on_commit)

    async def add_follow_up(self, conversation_id: int, agent_id: int, due_at: str,
                            note: str, announcement: str,
                            on_commit: OnCommit[tuple[FollowUp, Message]] = None
                            ) -> tuple[FollowUp, Message]:
        return await self.transaction(partial(
            add_follow_up, conversation_id=conversation_id, agent_id=agent_id,
            due_at=due_at, note=note, announcement=announcement), on_commit)

    async def follow_up(self, follow_up_id: int) -> FollowUp:
        return await self.read(partial(follow_up, follow_up_id=follow_up_id))

    async def follow_ups(self, agent_id: int | None, include_done: bool) -> list[FollowUp]:
        return await self.read(partial(follow_ups, agent_id=agent_id,
                                       include_done=include_done))

    async def complete_follow_up(self, follow_up_id: int) -> FollowUp:
        return await self.transaction(partial(complete_follow_up,
                                              follow_up_id=follow_up_id))

    async def claim_alert(self, kind: str, subject: int, mark: str) -> bool:
        return bool(await self.transaction(lambda db: db.execute(
            "INSERT OR IGNORE INTO alerts_raised (kind, subject, mark, raised_at) "
            "VALUES (?, ?, ?, ?)", (kind, subject, mark, iso(now()))).rowcount))

    async def canned(self) -> list[Canned]:
        return await self.read(canned)

    async def add_canned(self, shortcut: str, text: str) -> Canned:
        return await self.transaction(partial(add_canned, shortcut=shortcut, text=text))

    async def delete_canned(self, canned_id: int) -> None:
        await self.transaction(partial(delete_canned, canned_id=canned_id))
