"""Which pages may open a socket: the server's own origin, plus ALLOWED_ORIGINS."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import Scope


def own_origin(scope: Scope) -> str:
    headers = Headers(scope=scope)
    scheme = {"wss": "https", "ws": "http"}.get(scope["scheme"], scope["scheme"])
    return f"{scheme}://{headers.get('host', '')}".lower()


def origin_allowed(scope: Scope, allowed: tuple[str, ...] | None) -> bool:
    """`*` allows any origin and none at all (non-browser clients); otherwise the handshake
    must carry an Origin that is the server's own or one of the allowed list."""
    if allowed is not None and "*" in allowed:
        return True
    origin = Headers(scope=scope).get("origin")
    if origin is None:
        return False
    origin = origin.rstrip("/").lower()
    return origin == own_origin(scope) or origin in {o.lower() for o in allowed or ()}
