"""What an admin manages: agents and API tokens, audited. Plain functions over a
`sqlite3.Connection`, and SqliteStore's admin methods that run them (the class at the end)."""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any

from chatserver.domain.clock import iso, now
from chatserver.domain.errors import Refused
from chatserver.store.base import AgentAccount, AgentChanges, ApiToken, NewToken
from chatserver.store.sqlite import rows
from chatserver.store.sqlite.connection import Runs
from chatserver.store.sqlite.customers import audit
from chatserver.store.tokens import new_token, token_hash


def agents(db: sqlite3.Connection) -> list[AgentAccount]:
    return [_agent(r) for r in db.execute(f"SELECT {rows.AGENT_COLUMNS} FROM agents "
                                          "ORDER BY name COLLATE NOCASE")]


def _agent(row: sqlite3.Row) -> AgentAccount:
    agent = rows.agent(row)
    return AgentAccount(id=agent.id, name=agent.name, role=agent.role,
                        capacity=agent.capacity, status=agent.status, email=agent.email,
                        disabled=agent.disabled)


def agent(db: sqlite3.Connection, agent_id: int) -> AgentAccount:
    row = db.execute(f"SELECT {rows.AGENT_COLUMNS} FROM agents WHERE id = ?",
                     (agent_id,)).fetchone()
    if row is None:
        raise Refused(404, "not_found", "no such agent")
    return _agent(row)


def add_agent(db: sqlite3.Connection, email: str, name: str, role: str, capacity: int,
              password_hash: str | None, actor_id: int) -> AgentAccount:
    try:
        cursor = db.execute(
            "INSERT INTO agents (email, name, role, capacity, password_hash, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (email, name, role, capacity, password_hash, iso(now())))
    except sqlite3.IntegrityError:
        raise Refused(409, "conflict", f"an agent with email {email} exists") from None
    audit(db, actor_id, "agent.added", None, {"agent_id": cursor.lastrowid,
                                              "email": email, "role": role})
    return agent(db, int(cursor.lastrowid or 0))


def change_agent(db: sqlite3.Connection, agent_id: int, changes: AgentChanges,
                 actor_id: int) -> AgentAccount:
    """Name, role, capacity, disabled or password: what `changes` holds (None: unchanged)."""
    agent(db, agent_id)
    columns: dict[str, Any] = {k: v for k, v in changes.items() if v is not None}
    if "disabled" in columns:
        columns["disabled"] = int(columns["disabled"])
    if columns:
        db.execute(f"UPDATE agents SET {', '.join(k + ' = ?' for k in columns)} WHERE id = ?",
                   (*columns.values(), agent_id))
        audit(db, actor_id, "agent.changed", None,
              {"agent_id": agent_id, **{k: v for k, v in columns.items()
                                        if k != "password_hash"}})
    return agent(db, agent_id)


def tokens(db: sqlite3.Connection, agent_id: int | None) -> list[ApiToken]:
    """API tokens (never their secret): one agent's, or all (integration tokens too)."""
    return [ApiToken(id=r["id"], agent_id=r["agent_id"], agent_name=r["agent_name"],
                     label=r["label"], created_at=r["created_at"], revoked_at=r["revoked_at"],
                     integration=r["agent_id"] is None) for r in db.execute(
        "SELECT t.id, t.agent_id, a.name AS agent_name, t.label, t.created_at, t.revoked_at "
        "FROM api_tokens t LEFT JOIN agents a ON a.id = t.agent_id "
        "WHERE ? IS NULL OR t.agent_id = ? ORDER BY t.id", (agent_id, agent_id))]


def create_token(db: sqlite3.Connection, agent_id: int | None, label: str | None,
                 actor_id: int) -> NewToken:
    """A token acting as the agent, or (None) an integration token for the shop's systems."""
    if agent_id is not None:
        agent(db, agent_id)
    token = new_token("cs_")
    cursor = db.execute("INSERT INTO api_tokens (agent_id, token_hash, label, created_at) "
                        "VALUES (?, ?, ?, ?)", (agent_id, token_hash(token), label, iso(now())))
    audit(db, actor_id, "token.created", None, {"token_id": cursor.lastrowid,
                                                "agent_id": agent_id, "label": label})
    return NewToken(id=int(cursor.lastrowid or 0), agent_id=agent_id, label=label,
                    integration=agent_id is None, token=token)


def revoke_token(db: sqlite3.Connection, token_id: int, agent_id: int | None,
                 actor_id: int) -> int | None:
    """Revoke a token (only one's own unless `agent_id` is None: an admin); returns whose
    (None: an integration token's)."""
    changed = db.execute("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? "
                         "AND (? IS NULL OR agent_id = ?)",
                         (iso(now()), token_id, agent_id, agent_id)).rowcount
    if not changed:
        raise Refused(404, "not_found", "no such token")
    audit(db, actor_id, "token.revoked", None, {"token_id": token_id})
    owner = db.execute("SELECT agent_id FROM api_tokens WHERE id = ?", (token_id,)).fetchone()[0]
    return None if owner is None else int(owner)


class AdminMethods(Runs):
    async def agent_accounts(self) -> list[AgentAccount]:
        return await self.read(agents)

    async def add_agent_account(self, email: str, name: str, role: str, capacity: int,
                                password_hash: str | None, actor_id: int) -> AgentAccount:
        return await self.transaction(partial(
            add_agent, email=email, name=name, role=role, capacity=capacity,
            password_hash=password_hash, actor_id=actor_id))

    async def change_agent_account(self, agent_id: int, changes: AgentChanges,
                                   actor_id: int) -> AgentAccount:
        return await self.transaction(partial(change_agent, agent_id=agent_id,
                                              changes=changes, actor_id=actor_id))

    async def api_tokens(self, agent_id: int | None) -> list[ApiToken]:
        return await self.read(partial(tokens, agent_id=agent_id))

    async def issue_token(self, agent_id: int | None, label: str | None,
                          actor_id: int) -> NewToken:
        return await self.transaction(partial(create_token, agent_id=agent_id,
                                              label=label, actor_id=actor_id))

    async def revoke_token(self, token_id: int, agent_id: int | None, actor_id: int
                           ) -> int | None:
        return await self.transaction(partial(revoke_token, token_id=token_id,
                                              agent_id=agent_id, actor_id=actor_id))
