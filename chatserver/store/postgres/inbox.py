"""The console's lists: conversations by view, full-text search over transcripts, follow-ups,
canned responses; and escalation. Async functions over a connection; PostgresStore's console
methods (the class at the end) run them, each its namesake.

Search: each word typed matches the start of a word of the transcript (PostgreSQL's text
search with the `simple` configuration: words as written, any case, no stemming, as SQLite's
FTS5 has them), through the expression index `messages_search`; the snippet shown is cut as
FTS5 cuts it (snippets.py). A message is searchable as soon as it is committed.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg

from chatserver.domain.clock import iso, now
from chatserver.domain.errors import Refused
from chatserver.domain.models import SYSTEM, Message
from chatserver.store import records
from chatserver.store.base import Canned, FollowUp, InboxEntry
from chatserver.store.postgres.connection import Connection, Runs
from chatserver.store.postgres.conversations import insert_message
from chatserver.store.postgres.rows import changed
from chatserver.store.postgres.snippets import snippet
from chatserver.store.types import OnCommit

# a message's text, or the name of the file it carries alone (as SQLite's)
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
            AND author_role <> 'system' ORDER BY seq DESC LIMIT 1) AS last_text,
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
    "open": ("c.status <> 'closed'", "c.id"),
    # open, its visitor unanswered since :before or longer (the watch of supervision.py)
    "unanswered": ("c.status <> 'closed' AND c.unanswered_since <= :before", "c.id"),
    "closed": ("c.status = 'closed' AND (:oversee OR c.agent_id = :agent)", "c.closed_at DESC"),
    "all": (":oversee OR c.agent_id = :agent", "c.id DESC"),
}
SEARCHED = "to_tsvector('simple', m.text)"  # as the index messages_search has it
# Each word is a condition of the query, and no one searches a transcript for a paragraph.
MAX_SEARCH_CHARS = 200
MAX_SEARCH_WORDS = 10


async def conversations(db: Connection, view: str, agent_id: int, oversee: bool,
                        query: str | None, limit: int, before: str | None = None
                        ) -> list[InboxEntry]:
    """A view of conversations; with `query`, only those whose transcript or customer's name
    (of a verified visitor) matches every word of it, each with the `snippet` that matches."""
    view_where, order = VIEWS[view]
    conditions = [f"({view_where})"]
    params: dict[str, Any] = {"agent": agent_id, "oversee": oversee, "limit": limit,
                              "before": before}
    words = search_words(query) if query else []
    for n, word in enumerate(words):
        # each word anywhere in the transcript, the name of the customer the visitor is
        # verified as or of a file sent, not all of them in one message
        conditions.append(
            f"c.id IN (SELECT m.conversation_id FROM messages m WHERE {SEARCHED} @@ "
            f"to_tsquery('simple', :w{n}) UNION ALL SELECT linked.id FROM customers named "
            "JOIN visitors known ON known.customer_id = named.id JOIN conversations linked "
            f"ON linked.visitor_id = known.id WHERE ' ' || named.name ILIKE :n{n} "
            "UNION ALL SELECT f.conversation_id FROM attachments f WHERE f.conversation_id "
            f"IS NOT NULL AND ' ' || f.name ILIKE :n{n})")
        params[f"w{n}"] = prefix_query(word)
        params[f"n{n}"] = name_pattern(word)
    found = await db.fetch(*numbered(
        f"{LIST_SELECT} WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT :limit",
        params))
    entries = [records.inbox_entry(r) for r in found]
    if words:
        found_words = await matching_words(db, [e["id"] for e in entries], words)
        for entry in entries:
            entry["snippet"] = found_words.get(entry["id"])
    return entries


async def matching_words(db: Connection, conversation_ids: list[int],
                         words: list[str]) -> dict[int, str]:
    """The searched words in their context, by conversation: a snippet (snippets.py) of the
    message that matches best."""
    any_word = " | ".join(prefix_query(w) for w in words)
    found = await db.fetch(
        "SELECT DISTINCT ON (m.conversation_id) m.conversation_id, m.text "
        f"FROM messages m, to_tsquery('simple', $1) q WHERE {SEARCHED} @@ q "
        "AND m.conversation_id = ANY($2::bigint[]) "
        f"ORDER BY m.conversation_id, ts_rank({SEARCHED}, q) DESC, m.id", any_word,
        conversation_ids)
    return {r["conversation_id"]: snippet(r["text"], words) for r in found}


def numbered(sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
    """SQL with `:name` parameters as PostgreSQL's `$1`, `$2`... and its arguments, each
    name once whatever how often it is used (`::type` casts left alone)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"
    return (re.sub(r"(?<!:):(\w+)", number, sql), *(params[name] for name in names))


def search_words(text: str) -> list[str]:
    """The words a person typed (a word is letters, digits and `_`)."""
    if len(text) > MAX_SEARCH_CHARS:
        raise Refused(422, "invalid", f"a search is at most {MAX_SEARCH_CHARS} characters")
    words = re.findall(r"\w+", text)
    if not words:
        raise Refused(422, "invalid", "search for at least one word")
    if len(words) > MAX_SEARCH_WORDS:
        raise Refused(422, "invalid", f"search for at most {MAX_SEARCH_WORDS} words")
    return words


def prefix_query(word: str) -> str:
    """A tsquery matching words that start with `word` (quoted: no operator in it counts)."""
    return f"'{word}':*"


def name_pattern(word: str) -> str:
    """An ILIKE pattern for a name (after a space) with a word starting with `word` (`_`,
    ILIKE's one wildcard a word may hold, escaped)."""
    return "% " + word.replace("_", "\\_") + "%"


async def history(db: Connection, conversation_id: int) -> list[InboxEntry]:
    """The visitor's (and their customer's) other conversations, newest first."""
    found = await db.fetch(
        f"{LIST_SELECT} WHERE c.id <> $1 AND (c.visitor_id = (SELECT visitor_id FROM "
        "conversations WHERE id = $1) OR c.customer_id = (SELECT customer_id FROM "
        "conversations WHERE id = $1)) ORDER BY c.id DESC LIMIT 20", conversation_id)
    return [records.inbox_entry(r) for r in found]


async def escalate(db: Connection, conversation_id: int, note: str | None,
                   announcement: str) -> Message:
    if not changed(await db.execute(
            "UPDATE conversations SET escalated_at = $1, escalation_note = $2 "
            "WHERE id = $3 AND status <> 'closed'", iso(now()), note, conversation_id)):
        raise Refused(404, "not_found", "no such open conversation")
    return await insert_message(db, conversation_id, SYSTEM, announcement)


# --- follow-ups: "I'll get back to you by ..." ---------------------------------------------
async def add_follow_up(db: Connection, conversation_id: int, agent_id: int, due_at: str,
                        note: str, announcement: str) -> tuple[FollowUp, Message]:
    if await db.fetchval("SELECT 1 FROM conversations WHERE id = $1", conversation_id) is None:
        raise Refused(404, "not_found", "no such conversation")
    follow_up_id = await db.fetchval(
        "INSERT INTO follow_ups (conversation_id, agent_id, due_at, note, created_at) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id",
        conversation_id, agent_id, due_at, note, iso(now()))
    return (await follow_up(db, follow_up_id),
            await insert_message(db, conversation_id, SYSTEM, announcement))


FOLLOW_UP_SELECT = ("SELECT f.*, a.name AS agent_name, v.name AS visitor_name, "
                    "cu.name AS customer_name, v.email AS visitor_email FROM follow_ups f "
                    "JOIN agents a ON a.id = f.agent_id JOIN conversations c ON "
                    "c.id = f.conversation_id JOIN visitors v ON v.id = c.visitor_id "
                    "LEFT JOIN customers cu ON cu.id = v.customer_id ")


async def follow_up(db: Connection, follow_up_id: int) -> FollowUp:
    row = await db.fetchrow(FOLLOW_UP_SELECT + "WHERE f.id = $1", follow_up_id)
    if row is None:
        raise Refused(404, "not_found", "no such follow-up")
    return records.follow_up(row)


async def follow_ups(db: Connection, agent_id: int | None,
                     include_done: bool) -> list[FollowUp]:
    """Open follow-ups (and done ones if asked), soonest due first; one agent's or all."""
    where = "WHERE ($1::bigint IS NULL OR f.agent_id = $1)" + (
        "" if include_done else " AND f.done_at IS NULL")
    found = await db.fetch(FOLLOW_UP_SELECT + where + " ORDER BY f.due_at", agent_id)
    return [records.follow_up(r) for r in found]


async def complete_follow_up(db: Connection, follow_up_id: int) -> FollowUp:
    """Done once: a second completion, even at the same time, keeps the first's time."""
    await db.execute("UPDATE follow_ups SET done_at = COALESCE(done_at, $1) WHERE id = $2",
                     iso(now()), follow_up_id)
    return await follow_up(db, follow_up_id)


# --- canned responses ------------------------------------------------------------------
async def add_canned(db: Connection, shortcut: str, text: str) -> Canned:
    try:
        canned_id = await db.fetchval(
            "INSERT INTO canned_responses (shortcut, text, created_at) VALUES ($1, $2, $3) "
            "RETURNING id", shortcut, text, iso(now()))
    except asyncpg.UniqueViolationError:
        raise Refused(409, "conflict", f"/{shortcut} already exists") from None
    return Canned(id=int(canned_id), shortcut=shortcut, text=text)


class ConsoleMethods(Runs):
    async def inbox(self, view: str, agent_id: int, oversee: bool, query: str | None,
                    limit: int) -> list[InboxEntry]:
        return await self.read(
            lambda db: conversations(db, view, agent_id, oversee, query, limit))

    async def unanswered(self, before: str, limit: int) -> list[InboxEntry]:
        return await self.read(
            lambda db: conversations(db, "unanswered", 0, True, None, limit, before))

    async def history(self, conversation_id: int) -> list[InboxEntry]:
        return await self.read(lambda db: history(db, conversation_id))

    async def escalate(self, conversation_id: int, note: str | None, announcement: str,
                       on_commit: OnCommit[Message] = None) -> Message:
        return await self.transaction(
            lambda db: escalate(db, conversation_id, note, announcement), on_commit,
            lambda message: message)

    async def add_follow_up(self, conversation_id: int, agent_id: int, due_at: str,
                            note: str, announcement: str,
                            on_commit: OnCommit[tuple[FollowUp, Message]] = None
                            ) -> tuple[FollowUp, Message]:
        return await self.transaction(lambda db: add_follow_up(
            db, conversation_id, agent_id, due_at, note, announcement), on_commit,
            lambda added: added[1])

    async def follow_up(self, follow_up_id: int) -> FollowUp:
        return await self.read(lambda db: follow_up(db, follow_up_id))

    async def follow_ups(self, agent_id: int | None, include_done: bool) -> list[FollowUp]:
        return await self.read(lambda db: follow_ups(db, agent_id, include_done))

    async def complete_follow_up(self, follow_up_id: int) -> FollowUp:
        return await self.transaction(lambda db: complete_follow_up(db, follow_up_id))

    async def claim_alert(self, kind: str, subject: int, mark: str) -> bool:
        return bool(changed(await self._run(
            "INSERT INTO alerts_raised (kind, subject, mark, raised_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT DO NOTHING", kind, subject, mark, iso(now()))))

    async def canned(self) -> list[Canned]:
        return [Canned(id=r["id"], shortcut=r["shortcut"], text=r["text"]) for r in
                await self._all("SELECT id, shortcut, text FROM canned_responses "
                                "ORDER BY shortcut")]

    async def add_canned(self, shortcut: str, text: str) -> Canned:
        return await self.transaction(lambda db: add_canned(db, shortcut, text))

    async def delete_canned(self, canned_id: int) -> None:
        if not changed(await self._run("DELETE FROM canned_responses WHERE id = $1",
                                       canned_id)):
            raise Refused(404, "not_found", "no such canned response")
