"""What an admin manages: agents and API tokens, audited. Async functions over a connection
in a transaction, and PostgresStore's admin methods that run them (the class at the end)."""

from __future__ import annotations

from typing import Any

import asyncpg

from chatserver.domain.clock import iso, now
from chatserver.domain.errors import Refused
from chatserver.store import records
from chatserver.store.base import AgentAccount, AgentChanges, ApiToken, NewToken
from chatserver.store.postgres import rows
from chatserver.store.postgres.connection import Connection, Record, Runs
from chatserver.store.postgres.customers import audit
from chatserver.store.tokens import new_token, token_hash


def _account(row: Record) -> AgentAccount:
    agent = records.agent(row)
    return AgentAccount(id=agent.id, name=agent.name, role=agent.role,
                        capacity=agent.capacity, status=agent.status, email=agent.email,
                        disabled=agent.disabled)


async def account(db: Connection, agent_id: int) -> AgentAccount:
    row = await db.fetchrow(f"SELECT {rows.AGENT_COLUMNS} FROM agents WHERE id = $1", agent_id)
    if row is None:
        raise Refused(404, "not_found", "no such agent")
    return _account(row)


async def add_agent(db: Connection, email: str, name: str, role: str, capacity: int,
                    password_hash: str | None, actor_id: int) -> AgentAccount:
    try:
        agent_id = await db.fetchval(
            "INSERT INTO agents (email, name, role, capacity, password_hash, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            email, name, role, capacity, password_hash, iso(now()))
    except asyncpg.UniqueViolationError:
        raise Refused(409, "conflict", f"an agent with email {email} exists") from None
    await audit(db, actor_id, "agent.added", None, {"agent_id": agent_id, "email": email,
                                                    "role": role})
    return await account(db, agent_id)


async def change_agent(db: Connection, agent_id: int, changes: AgentChanges,
                       actor_id: int) -> AgentAccount:
    """Name, role, capacity, disabled or password: what `changes` holds (None: unchanged)."""
    await account(db, agent_id)
    columns: dict[str, Any] = {k: v for k, v in changes.items() if v is not None}
    if columns:
        assignments = ", ".join(f"{k} = ${n}" for n, k in enumerate(columns, start=1))
        await db.execute(f"UPDATE agents SET {assignments} WHERE id = ${len(columns) + 1}",
                         *columns.values(), agent_id)
        await audit(db, actor_id, "agent.changed", None, {
            "agent_id": agent_id,
            **{k: int(v) if k == "disabled" else v for k, v in columns.items()
               if k != "password_hash"}})
    return await account(db, agent_id)


async def create_token(db: Connection, agent_id: int | None, label: str | None,
                       actor_id: int) -> NewToken:
    """A token acting as the agent, or (None) an integration token for the shop's systems."""
    if agent_id is not None:
        await account(db, agent_id)
    token = new_token("cs_")
    token_id = await db.fetchval(
        "INSERT INTO api_tokens (agent_id, token_hash, label, created_at) "
        "VALUES ($1, $2, $3, $4) RETURNING id", agent_id, token_hash(token), label, iso(now()))
    await audit(db, actor_id, "token.created", None, {"token_id": token_id,
                                                      "agent_id": agent_id, "label": label})
    return NewToken(id=int(token_id), agent_id=agent_id, label=label,
                    integration=agent_id is None, token=token)


async def revoke_token(db: Connection, token_id: int, agent_id: int | None,
                       actor_id: int) -> int | None:
    """Revoke a token (only one's own unless `agent_id` is None: an admin); returns whose
    (None: an integration token's)."""
    revoked = await db.fetchrow(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 "
        "AND ($3::bigint IS NULL OR agent_id = $3) RETURNING agent_id",
        iso(now()), token_id, agent_id)
    if revoked is None:
        raise Refused(404, "not_found", "no such token")
    await audit(db, actor_id, "token.revoked", None, {"token_id": token_id})
    owner = revoked["agent_id"]
    return None if owner is None else int(owner)


class AdminMethods(Runs):
    async def agent_accounts(self) -> list[AgentAccount]:
        return [_account(r) for r in await self._all(
            f"SELECT {rows.AGENT_COLUMNS} FROM agents ORDER BY lower(name), id")]

    async def add_agent_account(self, email: str, name: str, role: str, capacity: int,
                                password_hash: str | None, actor_id: int) -> AgentAccount:
        return await self.transaction(lambda db: add_agent(
            db, email, name, role, capacity, password_hash, actor_id))

    async def change_agent_account(self, agent_id: int, changes: AgentChanges,
                                   actor_id: int) -> AgentAccount:
        return await self.transaction(lambda db: change_agent(db, agent_id, changes, actor_id))

    async def api_tokens(self, agent_id: int | None) -> list[ApiToken]:
        """API tokens (never their secret): one agent's, or all (integration tokens too)."""
        return [ApiToken(id=r["id"], agent_id=r["agent_id"], agent_name=r["agent_name"],
                         label=r["label"], created_at=r["created_at"],
                         revoked_at=r["revoked_at"], integration=r["agent_id"] is None)
                for r in await self._all(
            "SELECT t.id, t.agent_id, a.name AS agent_name, t.label, t.created_at, "
            "t.revoked_at FROM api_tokens t LEFT JOIN agents a ON a.id = t.agent_id "
            "WHERE $1::bigint IS NULL OR t.agent_id = $1 ORDER BY t.id", agent_id)]

    async def issue_token(self, agent_id: int | None, label: str | None,
                          actor_id: int) -> NewToken:
        return await self.transaction(lambda db: create_token(db, agent_id, label, actor_id))

    async def revoke_token(self, token_id: int, agent_id: int | None, actor_id: int
                           ) -> int | None:
        return await self.transaction(lambda db: revoke_token(db, token_id, agent_id,
                                                              actor_id))
