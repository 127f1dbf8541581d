"""Who an agent is: API tokens (Bearer) for integrations, signed session cookies for the console."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import Headers

from chatserver.domain.models import Agent
from chatserver.service.team import Team

SESSION_COOKIE = "chatserver_session"
SESSION_MAX_AGE = 14 * 24 * 3600
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    """A hash of no one's password, made with the hasher's own parameters."""
    return _hasher.hash(secrets.token_urlsafe(16))


def check_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches. With no hash (no such agent, or one who may not sign in)
    a dummy hash is verified all the same: how long a refusal takes tells nothing about who
    exists."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Session:
    id: str
    agent: Agent
    csrf: str


class Sessions:
    """Console sign-ins. The cookie carries only a signed session id; the session itself is
    in the store, so signing out (or an admin disabling the agent) ends it everywhere."""

    def __init__(self, secret_key: str, team: Team) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="console-session")
        self._team = team

    async def start(self, agent: Agent) -> str:
        """A new session for `agent`; returns the cookie value."""
        session_id = await self._team.open_session(agent)
        return self._serializer.dumps(session_id)

    async def find(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            session_id = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        found = await self._team.session(str(session_id))
        if found is None or found[0].disabled:
            return None
        return Session(str(session_id), found[0], found[1])


def bearer_token(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
