"""The team's accounts and API tokens, as an admin manages them, and who signs in with what.
A change that takes back what an agent signed in with signs them out and closes their
sockets; routing takes the account as it now stands."""

from __future__ import annotations

from chatserver.domain.models import Agent, Integration
from chatserver.service.agent_desk import AgentDesk
from chatserver.store import Store
from chatserver.store.base import AgentAccount, AgentChanges, ApiToken, NewToken


def signs_out(before: Agent | None, changes: AgentChanges) -> bool:
    """A new role, a new password or a disable: what the agent signed in with (and the
    powers their open sockets were given) no longer holds."""
    return bool(changes["disabled"]) or changes["password_hash"] is not None or (
        before is not None and changes["role"] not in (None, before.role))


class Team:
    def __init__(self, store: Store, agent_desk: AgentDesk) -> None:
        self.store = store
        self.agent_desk = agent_desk

    async def login(self, email: str) -> tuple[Agent, str | None] | None:
        """The agent signing in with `email` and their password's hash, if there is one."""
        return await self.store.agent_login(email)

    async def token_holder(self, token: str) -> Agent | Integration | None:
        """Who an API token acts for: an agent, or the shop's systems."""
        agent = await self.store.agent_by_token(token)
        return agent if agent is not None else await self.store.integration_by_token(token)

    async def open_session(self, agent: Agent) -> str:
        """A new console session for `agent`; returns its id."""
        return await self.store.create_session(agent.id)

    async def session(self, session_id: str) -> tuple[Agent, str] | None:
        """A console session's agent and CSRF token, while it lasts."""
        return await self.store.session(session_id)

    async def sign_out(self, agent_id: int, session_id: str) -> None:
        await self.agent_desk.end_sessions(agent_id, session_id)

    async def accounts(self) -> list[AgentAccount]:
        return await self.store.agent_accounts()

    async def add_account(self, email: str, name: str, role: str, capacity: int,
                          password_hash: str | None, actor_id: int) -> AgentAccount:
        return await self.store.add_agent_account(email, name, role, capacity, password_hash,
                                                  actor_id)

    async def change_account(self, agent_id: int, changes: AgentChanges, actor_id: int,
                             kept: str | None) -> AgentAccount:
        """Change an account; when that signs the agent out, the session `kept` (the
        actor's own, changing themselves) stays signed in."""
        before = await self.store.agent(agent_id)
        found = await self.store.change_agent_account(agent_id, changes, actor_id)
        if signs_out(before, changes):
            await self.agent_desk.end_sessions(agent_id, kept=kept)
        await self.agent_desk.agent_changed(agent_id)
        return found

    async def tokens(self, agent_id: int | None) -> list[ApiToken]:
        """API tokens: one agent's, or (None) everyone's."""
        return await self.store.api_tokens(agent_id)

    async def issue_token(self, agent_id: int | None, label: str | None,
                          actor_id: int) -> NewToken:
        return await self.store.issue_token(agent_id, label, actor_id)

    async def revoke_token(self, token_id: int, agent_id: int | None, actor_id: int) -> None:
        """Revoke a token (only `agent_id`'s, unless None); the sockets opened with it close."""
        owner = await self.store.revoke_token(token_id, agent_id, actor_id)
        if owner is not None:
            self.agent_desk.token_revoked(owner, token_id)
