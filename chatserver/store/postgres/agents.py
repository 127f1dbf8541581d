"""PostgresStore's agents, their API tokens and their console sessions."""

from __future__ import annotations

import secrets

import asyncpg

from chatserver.domain.clock import iso, now
from chatserver.domain.models import Agent, Integration
from chatserver.store import records
from chatserver.store.base import AlreadyExists
from chatserver.store.postgres import rows
from chatserver.store.postgres.connection import Connection, Runs
from chatserver.store.tokens import new_token, token_hash


class AgentMethods(Runs):
    async def add_agent(self, email: str, name: str, role: str, capacity: int,
                        password_hash: str | None) -> Agent:
        async def insert(db: Connection) -> Agent:
            try:
                return records.agent(await db.fetchrow(
                    "INSERT INTO agents (email, name, role, capacity, password_hash, "
                    "created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING "
                    + rows.AGENT_COLUMNS, email, name, role, capacity, password_hash,
                    iso(now())))
            except asyncpg.UniqueViolationError:
                raise AlreadyExists(f"an agent with email {email} already exists") from None
        return await self.transaction(insert)

    async def agent(self, agent_id: int) -> Agent | None:
        row = await self._one(f"SELECT {rows.AGENT_COLUMNS} FROM agents WHERE id = $1",
                              agent_id)
        return records.agent(row) if row else None

    async def agent_login(self, email: str) -> tuple[Agent, str | None] | None:
        row = await self._one(f"SELECT {rows.AGENT_COLUMNS}, password_hash FROM agents "
                              "WHERE lower(email) = lower($1)", email)
        return (records.agent(row), row["password_hash"]) if row else None

    async def agents(self) -> list[Agent]:
        return [records.agent(r) for r in
                await self._all(f"SELECT {rows.AGENT_COLUMNS} FROM agents ORDER BY id")]

    async def set_password(self, agent_id: int, password_hash: str) -> None:
        await self._run("UPDATE agents SET password_hash = $1 WHERE id = $2",
                        password_hash, agent_id)

    async def set_presence(self, agent_id: int, status: str) -> None:
        await self._run("UPDATE agents SET status = $1 WHERE id = $2", status, agent_id)

    async def create_token(self, agent_id: int | None, label: str | None) -> str:
        token = new_token("cs_")
        await self._run("INSERT INTO api_tokens (agent_id, token_hash, label, created_at) "
                        "VALUES ($1, $2, $3, $4)", agent_id, token_hash(token), label,
                        iso(now()))
        return token

    async def token_id(self, token: str) -> int | None:
        row = await self._one("SELECT id FROM api_tokens WHERE token_hash = $1",
                              token_hash(token))
        return int(row["id"]) if row else None

    async def create_session(self, agent_id: int) -> str:
        session_id, csrf = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        await self._run("INSERT INTO sessions (id, agent_id, csrf, created_at) "
                        "VALUES ($1, $2, $3, $4)", session_id, agent_id, csrf, iso(now()))
        return session_id

    async def session(self, session_id: str) -> tuple[Agent, str] | None:
        """The signed-in agent and the session's CSRF token, while the session lasts."""
        row = await self._one(
            f"SELECT {', '.join('a.' + c for c in rows.AGENT_COLUMNS.split(', '))}, s.csrf "
            "FROM sessions s JOIN agents a ON a.id = s.agent_id "
            "WHERE s.id = $1 AND s.ended_at IS NULL", session_id)
        return (records.agent(row), row["csrf"]) if row else None

    async def end_sessions(self, agent_id: int, session_id: str | None = None,
                           kept: str | None = None) -> None:
        """End one session of the agent, or (None) all of them but `kept`."""
        await self._run(
            "UPDATE sessions SET ended_at = $1 WHERE agent_id = $2 AND ended_at IS NULL "
            "AND ($3::text IS NULL OR id = $3) AND ($4::text IS NULL OR id <> $4)",
            iso(now()), agent_id, session_id, kept)

    async def agent_by_token(self, token: str) -> Agent | None:
        row = await self._one(
            "SELECT a.id, a.email, a.name, a.role, a.capacity, a.status, a.disabled "
            "FROM api_tokens t JOIN agents a ON a.id = t.agent_id "
            "WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND NOT a.disabled",
            token_hash(token))
        return records.agent(row) if row else None

    async def integration_by_token(self, token: str) -> Integration | None:
        row = await self._one("SELECT id FROM api_tokens WHERE token_hash = $1 AND "
                              "agent_id IS NULL AND revoked_at IS NULL", token_hash(token))
        return Integration(int(row["id"])) if row else None
