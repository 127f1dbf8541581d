"""The SQLite store: WAL mode, one writer thread with group commit, one reader connection."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Awaitable
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite

from chatserver.domain import clock
from chatserver.domain.clock import iso, now
from chatserver.domain.models import (
    DETAILS,
    Agent,
    Author,
    Conversation,
    Integration,
    Message,
    Visitor,
    VisitorDetails,
)
from chatserver.store import customers, rows, writes
from chatserver.store.base import AlreadyExists
from chatserver.store.migrations import migrate
from chatserver.store.sqlite_admin import AdminMethods
from chatserver.store.sqlite_commerce import CommerceMethods
from chatserver.store.sqlite_console import ConsoleMethods
from chatserver.store.tokens import new_token, token_hash
from chatserver.store.unavailable import for_caller
from chatserver.store.upkeep import Upkeep
from chatserver.store.writer import OnCommit, Writer


def sqlite_path(url: str) -> str:
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a SQLite URL: {url!r} (expected sqlite:///PATH)")
    return url[len("sqlite:///"):]


BUSY_TIMEOUT_MS = 10_000  # a write waits this long for another process's lock


def _connect(path: str, synchronous: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    for pragma in ("journal_mode = WAL", f"synchronous = {synchronous}", "foreign_keys = ON",
                   f"busy_timeout = {BUSY_TIMEOUT_MS}"):
        db.execute("PRAGMA " + pragma)
    return db


class SqliteStore(ConsoleMethods, AdminMethods, CommerceMethods):
    def __init__(self, writer: Writer, reader: aiosqlite.Connection,
                 views: sqlite3.Connection, upkeep: Upkeep) -> None:
        super().__init__(writer, views)
        self._upkeep = upkeep
        self._reader = reader

    @classmethod
    async def open(cls, url: str, synchronous: str = "FULL") -> SqliteStore:
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            return await cls._open(path, synchronous)
        except sqlite3.Error as error:
            raise for_caller(error) from error

    @classmethod
    async def _open(cls, path: str, synchronous: str) -> SqliteStore:
        db = _connect(path, synchronous)
        migrate(db)
        db.execute("PRAGMA wal_autocheckpoint = 0")  # upkeep's job, not the commit's
        writer = Writer(db, for_caller=for_caller)
        writer.start()
        upkeep = Upkeep(_connect(path, synchronous), writer)
        upkeep.start()
        reader = await aiosqlite.connect(path, isolation_level=None)
        reader.row_factory = sqlite3.Row
        await reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        views = _connect(path, synchronous)
        views.execute("PRAGMA query_only = ON")
        return cls(writer, reader, views, upkeep)

    async def close(self) -> None:
        await self._upkeep.close()
        await self._writer.close()
        await self._reader.close()
        await self._close_views()

    @property
    def writer(self) -> Writer:
        return self._writer

    async def _one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        try:
            async with self._reader.execute(sql, args) as cursor:
                return await cursor.fetchone()
        except sqlite3.Error as error:
            raise for_caller(error) from error

    async def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            async with self._reader.execute(sql, args) as cursor:
                return list(await cursor.fetchall())
        except sqlite3.Error as error:
            raise for_caller(error) from error

    # --- settings kept in the database --------------------------------------------------
    async def secret(self, name: str) -> str:
        """A secret generated on first use and kept, so sessions survive restarts."""
        def get_or_create(db: sqlite3.Connection) -> str:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                       (name, secrets.token_urlsafe(32)))
            return str(db.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()[0])
        return await self._writer.submit(get_or_create)

    async def setting(self, name: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE key = ?", (name,))
        return str(row["value"]) if row else None

    async def set_setting(self, name: str, value: str) -> None:
        await self._writer.submit(lambda db: db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
            "value = excluded.value", (name, value)))

    # --- agents and tokens --------------------------------------------------------------
    async def add_agent(self, email: str, name: str, role: str, capacity: int,
                        password_hash: str | None) -> Agent:
        def insert(db: sqlite3.Connection) -> Agent:
            try:
                cursor = db.execute(
                    "INSERT INTO agents (email, name, role, capacity, password_hash, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) RETURNING " + rows.AGENT_COLUMNS,
                    (email, name, role, capacity, password_hash, iso(now())))
                return rows.agent(cursor.fetchone())
            except sqlite3.IntegrityError:
                raise AlreadyExists(f"an agent with email {email} already exists") from None
        return await self._writer.submit(insert)

    async def agent(self, agent_id: int) -> Agent | None:
        row = await self._one(f"SELECT {rows.AGENT_COLUMNS} FROM agents WHERE id = ?", (agent_id,))
        return rows.agent(row) if row else None

    async def agent_login(self, email: str) -> tuple[Agent, str | None] | None:
        row = await self._one(f"SELECT {rows.AGENT_COLUMNS}, password_hash FROM agents "
                              "WHERE email = ?", (email,))
        return (rows.agent(row), row["password_hash"]) if row else None

    async def agents(self) -> list[Agent]:
        return [rows.agent(r) for r in
                await self._all(f"SELECT {rows.AGENT_COLUMNS} FROM agents ORDER BY id")]

    async def set_password(self, agent_id: int, password_hash: str) -> None:
        await self._writer.submit(lambda db: db.execute(
            "UPDATE agents SET password_hash = ? WHERE id = ?", (password_hash, agent_id)))

    async def set_presence(self, agent_id: int, status: str) -> None:
        await self._writer.submit(lambda db: db.execute(
            "UPDATE agents SET status = ? WHERE id = ?", (status, agent_id)))

    async def create_token(self, agent_id: int | None, label: str | None) -> str:
        token = new_token("cs_")
        await self._writer.submit(lambda db: db.execute(
            "INSERT INTO api_tokens (agent_id, token_hash, label, created_at) VALUES (?,?,?,?)",
            (agent_id, token_hash(token), label, iso(now()))))
        return token

    async def token_id(self, token: str) -> int | None:
        row = await self._one("SELECT id FROM api_tokens WHERE token_hash = ?",
                              (token_hash(token),))
        return int(row["id"]) if row else None

    async def create_session(self, agent_id: int) -> str:
        session_id, csrf = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        await self._writer.submit(lambda db: db.execute(
            "INSERT INTO sessions (id, agent_id, csrf, created_at) VALUES (?, ?, ?, ?)",
            (session_id, agent_id, csrf, iso(now()))))
        return session_id

    async def session(self, session_id: str) -> tuple[Agent, str] | None:
        """The signed-in agent and the session's CSRF token, while the session lasts."""
        row = await self._one(
            f"SELECT {', '.join('a.' + c for c in rows.AGENT_COLUMNS.split(', '))}, s.csrf "
            "FROM sessions s JOIN agents a ON a.id = s.agent_id "
            "WHERE s.id = ? AND s.ended_at IS NULL", (session_id,))
        return (rows.agent(row), row["csrf"]) if row else None

    async def end_sessions(self, agent_id: int, session_id: str | None = None,
                           kept: str | None = None) -> None:
        """End one session of the agent, or (None) all of them but `kept`."""
        await self._writer.submit(lambda db: db.execute(
            "UPDATE sessions SET ended_at = ? WHERE agent_id = ? AND ended_at IS NULL "
            "AND (? IS NULL OR id = ?) AND (? IS NULL OR id != ?)",
            (iso(now()), agent_id, session_id, session_id, kept, kept)))

    async def agent_by_token(self, token: str) -> Agent | None:
        row = await self._one(
            "SELECT a.id, a.email, a.name, a.role, a.capacity, a.status, a.disabled "
            "FROM api_tokens t JOIN agents a ON a.id = t.agent_id "
            "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND a.disabled = 0",
            (token_hash(token),))
        return rows.agent(row) if row else None

    async def integration_by_token(self, token: str) -> Integration | None:
        row = await self._one("SELECT id FROM api_tokens WHERE token_hash = ? AND "
                              "agent_id IS NULL AND revoked_at IS NULL", (token_hash(token),))
        return Integration(int(row["id"])) if row else None

    # --- visitors -----------------------------------------------------------------------
    async def visitor_by_token(self, token: str) -> Visitor | None:
        row = await self._one(rows.VISITOR_SELECT + "JOIN visitor_tokens t ON t.visitor_id = "
                              "v.id WHERE t.token_hash = ?", (token_hash(token),))
        return rows.visitor(row) if row else None

    async def create_visitor(self, details: VisitorDetails) -> tuple[Visitor, str]:
        token = new_token("v_")

        def insert(db: sqlite3.Connection) -> Visitor:
            visitor = writes.add_visitor(db, secrets.token_hex(8), details)
            db.execute("INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) "
                       "VALUES (?, ?, ?)", (token_hash(token), visitor.id, iso(now())))
            return visitor
        return await self._writer.submit(insert), token

    async def update_visitor(self, visitor: Visitor, details: VisitorDetails) -> Visitor:
        """Fill in what the visitor told (nothing new told: no write)."""
        if all(details.get(k) in (None, "", getattr(visitor, k)) for k in DETAILS):
            return visitor
        return await self._writer.submit(
            partial(writes.update_visitor, visitor_id=visitor.id, details=details))

    async def verify_visitor(self, visitor: Visitor, token: str, user_id: str, email: str,
                             name: str | None) -> Visitor:
        """Link the visitor to the customer with this user id (created if new). When the
        customer already has a verified visitor, this token now belongs to that one, so the
        customer's past conversations follow them to this device. A visitor verified as
        another customer (a shared browser) keeps their conversations: this token then
        belongs to a new visitor."""
        def link(db: sqlite3.Connection) -> Visitor:
            customer_id = customers.by_identity(db, user_id, email, name)
            known = db.execute("SELECT id FROM visitors WHERE customer_id = ? AND verified = 1 "
                               "ORDER BY created_at LIMIT 1", (customer_id,)).fetchone()
            stored = rows.fetch_visitor(db, visitor.id)
            if known:
                target = known["id"]
            elif stored and stored.verified and stored.customer_id != customer_id:
                target = writes.add_visitor(db, secrets.token_hex(8), {
                    "page": stored.page, "timezone": stored.timezone}).id
            else:
                target = visitor.id
            db.execute("UPDATE visitors SET verified = 1, customer_id = ?, email = ?, "
                       "name = COALESCE(?, name) WHERE id = ?", (customer_id, email, name, target))
            db.execute("UPDATE conversations SET customer_id = ? WHERE visitor_id = ?",
                       (customer_id, target))
            db.execute("UPDATE visitor_tokens SET visitor_id = ? WHERE token_hash = ?",
                       (target, token_hash(token)))
            found = rows.fetch_visitor(db, target)
            assert found is not None
            return found
        return await self._writer.submit(link)

    async def visitor(self, visitor_id: str) -> Visitor | None:
        row = await self._one(rows.VISITOR_SELECT + "WHERE v.id = ?", (visitor_id,))
        return rows.visitor(row) if row else None

    # --- conversations and messages: reads ----------------------------------------------
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
    def post_visitor_message(self, author: Author, client_id: str, text: str, rank: float,
                             on_commit: OnCommit[writes.Posted] = None
                             ) -> Awaitable[writes.Posted]:
        return self._writer.submit(
            partial(writes.post_visitor_message, author=author, client_id=client_id, text=text,
                    rank=rank), on_commit)

    def post_agent_message(self, conversation_id: int, author: Author, client_id: str,
                           text: str, private: bool, on_commit: OnCommit[writes.Posted] = None
                           ) -> Awaitable[writes.Posted]:
        return self._writer.submit(
            partial(writes.post_agent_message, conversation_id=conversation_id, author=author,
                    client_id=client_id, text=text, private=private), on_commit)

    async def assign(self, conversation_id: int, agent_id: int, note: str,
                     from_agent: int | None = None,
                     on_commit: OnCommit[writes.Changed] = None) -> writes.Changed:
        return await self._writer.submit(
            partial(writes.assign, conversation_id=conversation_id, agent_id=agent_id, note=note,
                    from_agent=from_agent), on_commit)

    async def requeue(self, conversation_id: int, from_agent: int, rank: float, note: str,
                      on_commit: OnCommit[writes.Changed] = None) -> writes.Changed:
        return await self._writer.submit(
            partial(writes.requeue, conversation_id=conversation_id, from_agent=from_agent,
                    rank=rank, note=note), on_commit)

    async def close_conversation(self, conversation_id: int, closed_by: str, note: str,
                                 on_commit: OnCommit[writes.Changed] = None) -> writes.Changed:
        return await self._writer.submit(
            partial(writes.close, conversation_id=conversation_id, closed_by=closed_by,
                    note=note), on_commit)

    async def mark_read(self, conversation_id: int, role: str, seq: int) -> int:
        return await self._writer.submit(
            partial(writes.mark_read, conversation_id=conversation_id, role=role, seq=seq))

    async def set_emailed(self, conversation_id: int, seq: int) -> None:
        """Answers up to `seq` were emailed to the visitor."""
        await self._writer.submit(lambda db: db.execute(
            "UPDATE conversations SET emailed_seq = MAX(emailed_seq, ?) WHERE id = ?",
            (seq, conversation_id)))

    async def rate(self, conversation_id: int, score: int, comment: str | None) -> None:
        await self._writer.submit(partial(writes.rate, conversation_id=conversation_id,
                                          score=score, comment=comment))
