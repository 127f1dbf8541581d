"""The SQLite store's methods for admins (agents and API tokens, audited; SQL in
store/admin.py) and the facts the reports are made from (store/reports.py)."""

from __future__ import annotations

import sqlite3
from datetime import date
from functools import partial

from chatserver.store import admin, reports
from chatserver.store.base import AgentAccount, AgentChanges, ApiToken, NewToken, ReportFacts
from chatserver.store.sqlite_runs import Runs


class AdminMethods(Runs):
    async def agent_accounts(self) -> list[AgentAccount]:
        return await self.read(admin.agents)

    async def add_agent_account(self, email: str, name: str, role: str, capacity: int,
                                password_hash: str | None, actor_id: int) -> AgentAccount:
        return await self.transaction(partial(
            admin.add_agent, email=email, name=name, role=role, capacity=capacity,
            password_hash=password_hash, actor_id=actor_id))

    async def change_agent_account(self, agent_id: int, changes: AgentChanges,
                                   actor_id: int) -> AgentAccount:
        return await self.transaction(partial(admin.change_agent, agent_id=agent_id,
                                              changes=changes, actor_id=actor_id))

    async def api_tokens(self, agent_id: int | None) -> list[ApiToken]:
        return await self.read(partial(admin.tokens, agent_id=agent_id))

    async def issue_token(self, agent_id: int | None, label: str | None,
                          actor_id: int) -> NewToken:
        return await self.transaction(partial(admin.create_token, agent_id=agent_id,
                                              label=label, actor_id=actor_id))

    async def revoke_token(self, token_id: int, agent_id: int | None, actor_id: int
                           ) -> int | None:
        return await self.transaction(partial(admin.revoke_token, token_id=token_id,
                                              agent_id=agent_id, actor_id=actor_id))

    async def report_facts(self, first: date, last: date) -> ReportFacts:
        def gather(db: sqlite3.Connection) -> ReportFacts:
            return ReportFacts(reports.chats(db, first, last), reports.money(db, first, last))
        return await self.read(gather)
