"""SqliteStore's conversations and messages. The writes are plain functions over a
`sqlite3.Connection`, run by the writer thread; the store's method of the same name submits
each. Each runs inside the writer's transaction, so what it reads it may rely on until the
commit: `seq` numbers are taken here, in commit order, and can have no gaps.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable
from functools import partial

from chatserver.domain import clock
from chatserver.domain.clock import iso, parse
from chatserver.domain.models import SYSTEM, Author, Conversation, Message
from chatserver.store import clock as store_clock
from chatserver.store.sqlite import rows
from chatserver.store.sqlite.attachments import carrying
from chatserver.store.sqlite.connection import Runs
from chatserver.store.types import Changed, NotAllowed, OnCommit, Posted, Stale


def post_visitor_message(db: sqlite3.Connection, author: Author, client_id: str, text: str,
                         rank: float | None) -> Posted:
    """A visitor's message goes to their open conversation, or opens one (queued). A resend
    (its `client_id` stored before) is answered with the first, and changes nothing."""
    at = iso(store_clock.now())
    # one statement finds the open conversation and takes its next seq
    numbered = db.execute(
        "UPDATE conversations SET last_seq = last_seq + 1, unanswered_since = "
        "COALESCE(unanswered_since, ?) WHERE visitor_id = ? AND status != 'closed' "
        "RETURNING id, last_seq", (at, author.id)).fetchone()
    if numbered is None:
        first = _by_client_id(db, author, client_id)
        if first is not None:
            return Posted(first, duplicate=True)
        opened = open_conversation(db, str(author.id),
                                   store_clock.now() if rank is None else rank)
        return Posted(insert_message(db, opened.id, author, text, client_id), opened=opened,
                      visitor=rows.fetch_visitor(db, str(author.id)))
    conversation_id, seq = numbered
    try:  # the unique index finds a resend: a lookup before every insert cost a statement
        return Posted(_insert(db, conversation_id, seq, None, author, text, client_id, at))
    except sqlite3.IntegrityError:
        first = _by_client_id(db, author, client_id)
        if first is None:
            raise
        db.execute(f"UPDATE conversations SET last_seq = last_seq - 1, unanswered_since = "
                   f"{WAITING_SINCE} WHERE id = :id",
                   {"id": conversation_id})  # the number goes back: no gap; nor a new wait
        return Posted(first, duplicate=True)


def post_agent_message(db: sqlite3.Connection, conversation_id: int, author: Author,
                       client_id: str, text: str, private: bool) -> Posted:
    first = _by_client_id(db, author, client_id)
    if first is not None:
        return Posted(first, duplicate=True)
    status = db.execute("SELECT status FROM conversations WHERE id = ?",
                        (conversation_id,)).fetchone()
    if status is None:
        raise NotAllowed(f"no conversation {conversation_id}")
    if status["status"] == "closed" and not private:
        raise NotAllowed("that conversation is closed")
    return Posted(insert_message(db, conversation_id, author, text, client_id, private))


def open_conversation(db: sqlite3.Connection, visitor_id: str, rank: float) -> Conversation:
    """A new queued conversation, linked to the visitor's customer: the verified one, or the
    one their typed email names (shown to agents as unverified: it allows no refund)."""
    stamp = iso(store_clock.now())
    customer = db.execute(
        "SELECT COALESCE(v.customer_id, (SELECT c.id FROM customers c WHERE c.email = v.email "
        "COLLATE NOCASE AND c.merged_into IS NULL ORDER BY c.id LIMIT 1)) FROM visitors v "
        "WHERE v.id = ?", (visitor_id,)).fetchone()
    cursor = db.execute(
        "INSERT INTO conversations (visitor_id, customer_id, status, queue_rank, created_at, "
        "waiting_since) VALUES (?, ?, 'queued', ?, ?, ?)",
        (visitor_id, customer[0] if customer else None, rank, stamp, stamp),
    )
    return _conversation(db, int(cursor.lastrowid or 0))


def _conversation(db: sqlite3.Connection, conversation_id: int) -> Conversation:
    found = rows.fetch_conversation(db, conversation_id)
    if found is None:
        raise NotAllowed(f"no conversation {conversation_id}")
    return found


def insert_message(db: sqlite3.Connection, conversation_id: int, author: Author, text: str,
                   client_id: str | None = None, private: bool = False) -> Message:
    column = "last_note_seq" if private else "last_seq"
    at = iso(store_clock.now())
    number = db.execute(
        f"UPDATE conversations SET {column} = {column} + 1, unanswered_since = "
        f"{_waiting(author, private)} WHERE id = :id RETURNING {column}",
        {"id": conversation_id, "at": at},
    ).fetchone()[0]
    seq, note_seq = (None, number) if private else (number, None)
    return _insert(db, conversation_id, seq, note_seq, author, text, client_id, at)


# Since when the visitor waits for an answer, from the messages themselves: their first
# message after the agents' last (kept on each write, see `_waiting`; this when undoing one).
WAITING_SINCE = """(SELECT MIN(created_at) FROM messages WHERE conversation_id = :id
    AND author_role = 'visitor' AND seq > COALESCE((SELECT MAX(seq) FROM messages
    WHERE conversation_id = :id AND author_role = 'agent' AND seq IS NOT NULL), 0))"""


def _waiting(author: Author, private: bool) -> str:
    """What a message makes of `unanswered_since`: a visitor's starts the wait (if none
    is under way), an agent's answer ends it, a note or a system message leaves it."""
    if private or author.role == "system":
        return "unanswered_since"
    return "COALESCE(unanswered_since, :at)" if author.role == "visitor" else "NULL"


def _insert(db: sqlite3.Connection, conversation_id: int, seq: int | None,
            note_seq: int | None, author: Author, text: str, client_id: str | None,
            stamp: str) -> Message:
    db.execute(
        "INSERT INTO messages (conversation_id, seq, note_seq, author_role, author_id, "
        "author_name, sender_key, client_id, text, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (conversation_id, seq, note_seq, author.role, author.id, author.name,
         author.sender_key if client_id else None, client_id, text, stamp),
    )
    return Message(conversation_id, seq, note_seq, author, text, stamp, client_id)


def assign(db: sqlite3.Connection, conversation_id: int, agent_id: int, note: str,
           from_agent: int | None = None) -> Changed:
    """Give a conversation to an agent, with a system message saying so: a queued one, or
    (a transfer) an active one still with `from_agent`; else raise `Stale`, having written
    nothing. So a decision taken on an old picture never makes two agents.
    The transcript is read in the same transaction, so it holds exactly the messages
    announced before this change. The first assignment is kept apart: the visitor's wait
    ends there, whatever transfers follow."""
    stamp = iso(store_clock.now())
    never_assigned = db.execute(
        "SELECT waiting_since FROM conversations WHERE id = ? AND first_assigned_at IS NULL",
        (conversation_id,)).fetchone()
    guard, expected = _still(from_agent)
    changed = db.execute(
        "UPDATE conversations SET status = 'active', agent_id = ?, queue_rank = NULL, "
        "assigned_at = ?, first_assigned_at = COALESCE(first_assigned_at, ?) "
        f"WHERE id = ? AND {guard}",
        (agent_id, stamp, stamp, conversation_id, *expected),
    ).rowcount
    if not changed:
        raise _stale(db, conversation_id, from_agent)
    message = insert_message(db, conversation_id, SYSTEM, note)
    conversation = _conversation(db, conversation_id)
    visitor = rows.fetch_visitor(db, conversation.visitor_id)
    transcript = db.execute(f"SELECT {rows.MESSAGE_COLUMNS} FROM messages "
                            "WHERE conversation_id = ? ORDER BY id", (conversation_id,))
    waited = parse(stamp) - parse(never_assigned[0]) if never_assigned else None
    return Changed(message, conversation, visitor, tuple(rows.message(r) for r in transcript),
                   waited)


def requeue(db: sqlite3.Connection, conversation_id: int, from_agent: int, rank: float,
            note: str) -> Changed:
    """Send an active conversation still with `from_agent` back to the queue; else raise
    `Stale`, having written nothing."""
    guard, expected = _still(from_agent)
    changed = db.execute(
        "UPDATE conversations SET status = 'queued', agent_id = NULL, queue_rank = ? "
        f"WHERE id = ? AND {guard}",
        (rank, conversation_id, *expected),
    ).rowcount
    if not changed:
        raise _stale(db, conversation_id, from_agent)
    message = insert_message(db, conversation_id, SYSTEM, note)
    return Changed(message, _conversation(db, conversation_id))


def close(db: sqlite3.Connection, conversation_id: int, closed_by: str, note: str) -> Changed:
    """Close an open conversation; closing it again raises `Stale` and writes nothing (no
    second system message)."""
    changed = db.execute(
        "UPDATE conversations SET status = 'closed', queue_rank = NULL, closed_at = ?, "
        "closed_by = ? WHERE id = ? AND status != 'closed'",
        (iso(store_clock.now()), closed_by, conversation_id),
    ).rowcount
    if not changed:
        raise Stale("that conversation is already closed",
                    rows.fetch_conversation(db, conversation_id))
    message = insert_message(db, conversation_id, SYSTEM, note)
    return Changed(message, _conversation(db, conversation_id))


def _still(from_agent: int | None) -> tuple[str, tuple[int, ...]]:
    """The guard of a routing write, as SQL and its arguments: the conversation is still
    queued (None), or still active with `from_agent`."""
    if from_agent is None:
        return "status = 'queued'", ()
    return "status = 'active' AND agent_id = ?", (from_agent,)


def _stale(db: sqlite3.Connection, conversation_id: int, from_agent: int | None) -> Stale:
    expected = "waiting in the queue" if from_agent is None else "with that agent"
    return Stale(f"that conversation is no longer {expected}",
                 rows.fetch_conversation(db, conversation_id))


def mark_read(db: sqlite3.Connection, conversation_id: int, role: str, seq: int) -> int:
    """Raise the reader's mark (never lower it, never past the last message); returns it."""
    column = "visitor_read_seq" if role == "visitor" else "agent_read_seq"
    row = db.execute(
        f"UPDATE conversations SET {column} = MAX({column}, MIN(?, last_seq)) WHERE id = ? "
        f"RETURNING {column}",
        (seq, conversation_id),
    ).fetchone()
    return int(row[0]) if row else 0


def rate(db: sqlite3.Connection, conversation_id: int, score: int, comment: str | None) -> None:
    db.execute(
        "UPDATE conversations SET rating_score = ?, rating_comment = ?, rated_at = ? "
        "WHERE id = ?",
        (score, comment, iso(store_clock.now()), conversation_id),
    )


def _by_client_id(db: sqlite3.Connection, author: Author, client_id: str) -> Message | None:
    row = db.execute(
        f"SELECT {rows.MESSAGE_COLUMNS} FROM messages WHERE sender_key = ? AND client_id = ?",
        (author.sender_key, client_id),
    ).fetchone()
    return rows.message(row) if row else None


class ConversationMethods(Runs):
    async def conversation(self, conversation_id: int) -> Conversation | None:
        row = await self._one(rows.CONVERSATION_SELECT + "WHERE c.id = ?", (conversation_id,))
        return rows.conversation(row) if row else None

    async def current_conversation(self, visitor_id: str) -> Conversation | None:
        """The visitor's open conversation, else their latest closed one, else None."""
        row = await self._one(rows.CONVERSATION_SELECT + "WHERE c.visitor_id = ? "
                              "ORDER BY c.status = 'closed', c.id DESC LIMIT 1", (visitor_id,))
        return rows.conversation(row) if row else None

    async def latest_closed(self, visitor_id: str) -> Conversation | None:
        row = await self._one(rows.CONVERSATION_SELECT + "WHERE c.visitor_id = ? AND "
                              "c.status = 'closed' ORDER BY c.id DESC LIMIT 1", (visitor_id,))
        return rows.conversation(row) if row else None

    async def visitor_conversations(self, visitor_id: str) -> list[Conversation]:
        found = await self._all(rows.CONVERSATION_SELECT + "WHERE c.visitor_id = ? "
                                "ORDER BY c.id", (visitor_id,))
        return [rows.conversation(r) for r in found]

    async def open_conversations(self) -> list[tuple[Conversation, float | None]]:
        """Queued and active conversations with their queue rank, for routing at start-up."""
        found = await self._all(rows.CONVERSATION_SELECT + "WHERE c.status != 'closed' "
                                "ORDER BY c.id")
        return [(rows.conversation(r), r["queue_rank"]) for r in found]

    async def recent_waits(self, count: int) -> list[float]:
        """How long the last `count` assigned conversations waited for their first agent,
        oldest first."""
        found = await self._all(
            "SELECT waiting_since, first_assigned_at FROM conversations WHERE "
            "first_assigned_at IS NOT NULL ORDER BY first_assigned_at DESC LIMIT ?", (count,))
        return [clock.parse(r["first_assigned_at"]) - clock.parse(r["waiting_since"])
                for r in reversed(found)]

    async def agent_conversations(self, agent_id: int) -> list[Conversation]:
        found = await self._all(rows.CONVERSATION_SELECT + "WHERE c.status = 'active' AND "
                                "c.agent_id = ? ORDER BY c.id", (agent_id,))
        return [rows.conversation(r) for r in found]

    async def messages(self, conversation_id: int, after_seq: int = 0,
                       notes: bool = False) -> list[Message]:
        """Visible messages after `after_seq`; with `notes`, the private notes written since
        the message numbered `after_seq` too, all in commit order."""
        where = "seq > ?" if not notes else (
            "(seq > ? OR (note_seq IS NOT NULL AND id > COALESCE((SELECT id FROM messages "
            "WHERE conversation_id = m.conversation_id AND seq = ?), 0)))")
        args = (conversation_id, after_seq) if not notes else (conversation_id, after_seq,
                                                                after_seq)
        found = await self._all(f"SELECT {rows.MESSAGE_COLUMNS} FROM messages m "
                                f"WHERE conversation_id = ? AND {where} ORDER BY id", args)
        return [rows.message(r) for r in found]

    async def message_by_client_id(self, author: Author, client_id: str) -> Message | None:
        row = await self._one(f"SELECT {rows.MESSAGE_COLUMNS} FROM messages "
                              "WHERE sender_key = ? AND client_id = ?",
                              (author.sender_key, client_id))
        return rows.message(row) if row else None

    # --- conversations and messages: writes ---------------------------------------------
    def post_visitor_message(self, author: Author, client_id: str, text: str,
                             rank: float | None,
                             on_commit: OnCommit[Posted] = None,
                             attachment_id: int | None = None) -> Awaitable[Posted]:
        return self._writer.submit(partial(carrying, post=partial(
            post_visitor_message, author=author, client_id=client_id, text=text, rank=rank),
            author=author, attachment_id=attachment_id), on_commit)

    def post_agent_message(self, conversation_id: int, author: Author, client_id: str,
                           text: str, private: bool, on_commit: OnCommit[Posted] = None,
                           attachment_id: int | None = None) -> Awaitable[Posted]:
        return self._writer.submit(partial(carrying, post=partial(
            post_agent_message, conversation_id=conversation_id, author=author,
            client_id=client_id, text=text, private=private),
            author=author, attachment_id=attachment_id), on_commit)

    async def assign(self, conversation_id: int, agent_id: int, note: str,
                     from_agent: int | None = None,
                     on_commit: OnCommit[Changed] = None) -> Changed:
        return await self._writer.submit(
            partial(assign, conversation_id=conversation_id, agent_id=agent_id, note=note,
                    from_agent=from_agent), on_commit)

    async def requeue(self, conversation_id: int, from_agent: int, rank: float, note: str,
                      on_commit: OnCommit[Changed] = None) -> Changed:
        return await self._writer.submit(
            partial(requeue, conversation_id=conversation_id, from_agent=from_agent,
                    rank=rank, note=note), on_commit)

    async def close_conversation(self, conversation_id: int, closed_by: str, note: str,
                                 on_commit: OnCommit[Changed] = None) -> Changed:
        return await self._writer.submit(
            partial(close, conversation_id=conversation_id, closed_by=closed_by,
                    note=note), on_commit)

    async def mark_read(self, conversation_id: int, role: str, seq: int) -> int:
        return await self._writer.submit(
            partial(mark_read, conversation_id=conversation_id, role=role, seq=seq))

    async def claim_emailed(self, conversation_id: int, seen: int, upto: int) -> bool:
        return bool(await self._writer.submit(lambda db: db.execute(
            "UPDATE conversations SET emailed_seq = ? WHERE id = ? AND emailed_seq = ?",
            (upto, conversation_id, seen)).rowcount))

    async def rate(self, conversation_id: int, score: int, comment: str | None) -> None:
        await self._writer.submit(partial(rate, conversation_id=conversation_id,
                                          score=score, comment=comment))
