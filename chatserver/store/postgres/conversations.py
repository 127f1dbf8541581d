"""PostgresStore's conversations and messages. A message is one round trip: a call of a
server-side function (migration 2) that locks the conversation's row, checks the sender's
`client_id`, takes the next `seq` and inserts, in a transaction of its own. The row lock is
held to the commit, so writers to one conversation commit in seq order with no gaps. The
other writes are plain async functions over a connection, each run in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import asyncpg

from chatserver.domain import clock
from chatserver.domain.clock import iso, parse
from chatserver.domain.models import SYSTEM, Author, Conversation, Message
from chatserver.store import clock as store_clock
from chatserver.store import records
from chatserver.store.postgres import rows
from chatserver.store.postgres.attachments import attach
from chatserver.store.postgres.connection import Connection, Record, Runs
from chatserver.store.types import Changed, NotAllowed, OnCommit, Posted, Stale

POST_VISITOR = "SELECT * FROM post_visitor_message($1, $2, $3, $4, $5, $6, $7)"
POST_AGENT = "SELECT * FROM post_agent_message($1, $2, $3, $4, $5, $6, $7, $8, $9)"
# a routing write's guard: the conversation is still queued ($N NULL), or still active with
# the agent $N
STILL = "((${0}::bigint IS NULL AND status = 'queued') OR (status = 'active' AND agent_id = ${0}))"


def posted(row: Record) -> Posted:
    """A post function's row as the Store returns it."""
    opened = records.conversation(row["opened"]) if row["opened"] is not None else None
    visitor = records.visitor(row["visitor"]) if row["visitor"] is not None else None
    return Posted(records.message(row["message"]), duplicate=row["duplicate"], opened=opened,
                  visitor=visitor)


async def insert_message(db: Connection, conversation_id: int, author: Author, text: str,
                         client_id: str | None = None, private: bool = False) -> Message:
    row = await db.fetchrow(
        "SELECT * FROM insert_message($1, $2, $3, $4, $5, $6, $7, $8, $9)", conversation_id,
        author.role, author.id, author.name, author.sender_key, client_id, text, private,
        iso(store_clock.now()))
    return records.message(row)


async def _conversation(db: Connection, conversation_id: int) -> Conversation:
    found = await rows.fetch_conversation(db, conversation_id)
    if found is None:
        raise NotAllowed(f"no conversation {conversation_id}")
    return found


async def assign(db: Connection, conversation_id: int, agent_id: int, note: str,
                 from_agent: int | None) -> Changed:
    """As SQLite's `assign`: a queued conversation (or, a transfer, an active one still with
    `from_agent`) to the agent, else `Stale`; the transcript read under the row lock."""
    stamp = iso(store_clock.now())
    before = await db.fetchrow("SELECT waiting_since, first_assigned_at FROM conversations "
                               "WHERE id = $1 FOR UPDATE", conversation_id)
    changed = rows.changed(await db.execute(
        "UPDATE conversations SET status = 'active', agent_id = $1, queue_rank = NULL, "
        "assigned_at = $2, first_assigned_at = COALESCE(first_assigned_at, $2) "
        f"WHERE id = $3 AND {STILL.format(4)}", agent_id, stamp, conversation_id, from_agent))
    if not changed:
        raise await _stale(db, conversation_id, from_agent)
    message = await insert_message(db, conversation_id, SYSTEM, note)
    conversation = await _conversation(db, conversation_id)
    visitor = await rows.fetch_visitor(db, conversation.visitor_id)
    transcript = await db.fetch(f"SELECT {rows.MESSAGE_COLUMNS} FROM messages "
                                "WHERE conversation_id = $1 ORDER BY id", conversation_id)
    waited = (parse(stamp) - parse(before["waiting_since"])
              if before["first_assigned_at"] is None else None)
    return Changed(message, conversation, visitor, tuple(records.message(r) for r in transcript),
                   waited)


async def requeue(db: Connection, conversation_id: int, from_agent: int, rank: float,
                  note: str) -> Changed:
    changed = rows.changed(await db.execute(
        "UPDATE conversations SET status = 'queued', agent_id = NULL, queue_rank = $1 "
        f"WHERE id = $2 AND {STILL.format(3)}", rank, conversation_id, from_agent))
    if not changed:
        raise await _stale(db, conversation_id, from_agent)
    message = await insert_message(db, conversation_id, SYSTEM, note)
    return Changed(message, await _conversation(db, conversation_id))


async def close(db: Connection, conversation_id: int, closed_by: str, note: str) -> Changed:
    changed = rows.changed(await db.execute(
        "UPDATE conversations SET status = 'closed', queue_rank = NULL, closed_at = $1, "
        "closed_by = $2 WHERE id = $3 AND status <> 'closed'",
        iso(store_clock.now()), closed_by, conversation_id))
    if not changed:
        raise Stale("that conversation is already closed",
                    await rows.fetch_conversation(db, conversation_id))
    message = await insert_message(db, conversation_id, SYSTEM, note)
    return Changed(message, await _conversation(db, conversation_id))


async def _stale(db: Connection, conversation_id: int, from_agent: int | None) -> Stale:
    expected = "waiting in the queue" if from_agent is None else "with that agent"
    return Stale(f"that conversation is no longer {expected}",
                 await rows.fetch_conversation(db, conversation_id))


def _message(result: Posted | Changed) -> Message:
    return result.message


class ConversationMethods(Runs):
    async def conversation(self, conversation_id: int) -> Conversation | None:
        row = await self._one(rows.CONVERSATION_SELECT + "WHERE c.id = $1", conversation_id)
        return records.conversation(row) if row else None

    async def current_conversation(self, visitor_id: str) -> Conversation | None:
        """The visitor's open conversation, else their latest closed one, else None."""
        row = await self._one(rows.CONVERSATION_SELECT + "WHERE c.visitor_id = $1 "
                              "ORDER BY c.status = 'closed', c.id DESC LIMIT 1", visitor_id)
        return records.conversation(row) if row else None

    async def latest_closed(self, visitor_id: str) -> Conversation | None:
        row = await self._one(rows.CONVERSATION_SELECT + "WHERE c.visitor_id = $1 AND "
                              "c.status = 'closed' ORDER BY c.id DESC LIMIT 1", visitor_id)
        return records.conversation(row) if row else None

    async def visitor_conversations(self, visitor_id: str) -> list[Conversation]:
        found = await self._all(rows.CONVERSATION_SELECT + "WHERE c.visitor_id = $1 "
                                "ORDER BY c.id", visitor_id)
        return [records.conversation(r) for r in found]

    async def open_conversations(self) -> list[tuple[Conversation, float | None]]:
        found = await self._all(rows.CONVERSATION_SELECT + "WHERE c.status <> 'closed' "
                                "ORDER BY c.id")
        return [(records.conversation(r), r["queue_rank"]) for r in found]

    async def recent_waits(self, count: int) -> list[float]:
        found = await self._all(
            "SELECT waiting_since, first_assigned_at FROM conversations WHERE "
            "first_assigned_at IS NOT NULL ORDER BY first_assigned_at DESC LIMIT $1", count)
        return [clock.parse(r["first_assigned_at"]) - clock.parse(r["waiting_since"])
                for r in reversed(found)]

    async def agent_conversations(self, agent_id: int) -> list[Conversation]:
        found = await self._all(rows.CONVERSATION_SELECT + "WHERE c.status = 'active' AND "
                                "c.agent_id = $1 ORDER BY c.id", agent_id)
        return [records.conversation(r) for r in found]

    async def messages(self, conversation_id: int, after_seq: int = 0,
                       notes: bool = False) -> list[Message]:
        """Visible messages after `after_seq`; with `notes`, the private notes written since
        the message numbered `after_seq` too, all in commit order."""
        where = "seq > $2" if not notes else (
            "(seq > $2 OR (note_seq IS NOT NULL AND id > COALESCE((SELECT id FROM messages "
            "WHERE conversation_id = m.conversation_id AND seq = $2), 0)))")
        found = await self._all(f"SELECT {rows.MESSAGE_COLUMNS} FROM messages m "
                                f"WHERE conversation_id = $1 AND {where} ORDER BY id",
                                conversation_id, after_seq)
        return [records.message(r) for r in found]

    async def message_by_client_id(self, author: Author, client_id: str) -> Message | None:
        row = await self._one(f"SELECT {rows.MESSAGE_COLUMNS} FROM messages "
                              "WHERE sender_key = $1 AND client_id = $2",
                              author.sender_key, client_id)
        return records.message(row) if row else None

    # --- conversations and messages: writes ---------------------------------------------
    def post_visitor_message(self, author: Author, client_id: str, text: str,
                             rank: float | None,
                             on_commit: OnCommit[Posted] = None,
                             attachment_id: int | None = None) -> Awaitable[Posted]:
        return self._post(POST_VISITOR, (
            author.id, author.name, author.sender_key, client_id, text, rank,
            iso(store_clock.now())), on_commit, author, attachment_id)

    def post_agent_message(self, conversation_id: int, author: Author, client_id: str,
                           text: str, private: bool, on_commit: OnCommit[Posted] = None,
                           attachment_id: int | None = None) -> Awaitable[Posted]:
        return self._post(POST_AGENT, (
            conversation_id, author.role, author.id, author.name, author.sender_key,
            client_id, text, private, iso(store_clock.now())), on_commit, author,
            attachment_id)

    def _post(self, sql: str, args: tuple[Any, ...], on_commit: OnCommit[Posted],
              author: Author, attachment_id: int | None) -> Awaitable[Posted]:
        """A message in one round trip; one carrying a file is a transaction of three
        statements: the post, then `attach` (the file becomes the conversation's)."""
        if attachment_id is None:
            return self.statement(sql, args, posted, on_commit, _message)

        async def post_and_attach(db: Connection) -> Posted:
            try:
                first = posted(await db.fetchrow(sql, *args))
            except asyncpg.RaiseError as error:
                raise NotAllowed(error.message) from None
            return await attach(db, first, author, attachment_id)
        return self.transaction(post_and_attach, on_commit, _message)

    async def assign(self, conversation_id: int, agent_id: int, note: str,
                     from_agent: int | None = None,
                     on_commit: OnCommit[Changed] = None) -> Changed:
        return await self.transaction(
            lambda db: assign(db, conversation_id, agent_id, note, from_agent), on_commit, _message)

    async def requeue(self, conversation_id: int, from_agent: int, rank: float, note: str,
                      on_commit: OnCommit[Changed] = None) -> Changed:
        return await self.transaction(
            lambda db: requeue(db, conversation_id, from_agent, rank, note), on_commit, _message)

    async def close_conversation(self, conversation_id: int, closed_by: str, note: str,
                                 on_commit: OnCommit[Changed] = None) -> Changed:
        return await self.transaction(
            lambda db: close(db, conversation_id, closed_by, note), on_commit, _message)

    async def mark_read(self, conversation_id: int, role: str, seq: int) -> int:
        """Raise the reader's mark (never lower it, never past the last message); returns it."""
        column = "visitor_read_seq" if role == "visitor" else "agent_read_seq"
        row = await self._one(
            f"UPDATE conversations SET {column} = GREATEST({column}, LEAST($1, last_seq)) "
            f"WHERE id = $2 RETURNING {column}", seq, conversation_id)
        return int(row[0]) if row else 0

    async def claim_emailed(self, conversation_id: int, seen: int, upto: int) -> bool:
        return bool(rows.changed(await self._run(
            "UPDATE conversations SET emailed_seq = $1 WHERE id = $2 AND emailed_seq = $3",
            upto, conversation_id, seen)))

    async def rate(self, conversation_id: int, score: int, comment: str | None) -> None:
        await self._run("UPDATE conversations SET rating_score = $1, rating_comment = $2, "
                        "rated_at = $3 WHERE id = $4",
                        score, comment, iso(store_clock.now()), conversation_id)
