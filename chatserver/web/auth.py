"""Who an agent is: API tokens (Bearer) for integrations, signed session cookies for the console."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import Headers

from chatserver.domain.models import Agent
from chatserver.store import Store

SESSION_COOKIE = "chatserver_session"
SESSION_MAX_AGE = 14 * 24 * 3600
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class Sessions:
    """Signed cookies holding the agent's id and a CSRF token; nothing secret in them."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="console-session")

    def issue(self, agent_id: int, csrf: str) -> str:
        return self._serializer.dumps({"agent": agent_id, "csrf": csrf})

    def read(self, cookie: str | None) -> dict[str, object] | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None


def bearer_token(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def agent_from_session(store: Store, sessions: Sessions,
                             cookie: str | None) -> Agent | None:
    data = sessions.read(cookie)
    agent_id = data.get("agent") if data else None
    if not isinstance(agent_id, int):
        return None
    agent = await store.agent(agent_id)
    return agent if agent is not None and not agent.disabled else None
