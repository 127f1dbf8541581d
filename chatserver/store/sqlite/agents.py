"""SqliteStore's agents, their API tokens and their console sessions."""

from __future__ import annotations

import secrets
import sqlite3

from chatserver.domain.clock import iso, now
from chatserver.domain.models import Agent, Integration
from chatserver.store.base import AlreadyExists
from chatserver.store.sqlite import rows
from chatserver.store.sqlite.connection import Runs
from chatserver.store.tokens import new_token, token_hash


class AgentMethods(Runs):
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
