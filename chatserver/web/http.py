"""What every REST endpoint shares: JSON in and out, who is calling, errors as
`{"error": {"code", "message"}}` with a 4xx status."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from chatserver.domain.errors import Refused
from chatserver.domain.frames import Fields, FrameError, check_fields, no_nul
from chatserver.domain.models import Agent, Integration
from chatserver.store.base import RETRY_AFTER_SECONDS, StorageError
from chatserver.web.auth import SESSION_COOKIE, bearer_token
from chatserver.web.console import csrf_ok
from chatserver.web.services import services

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
log = logging.getLogger(__name__)


class ApiError(Refused):
    """A request the web layer refuses (bad body, unknown path id, missing CSRF token)."""


def json_response(data: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json",
                    headers=headers)


def error_response(status: int, code: str, message: str) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status)


API_PATHS = ("/api/", "/webhooks/")
STATUS_CODES = {404: "not_found", 405: "method_not_allowed"}


async def http_error(request: Request, error: Exception) -> Response:
    """Starlette's own refusals (no such path, wrong method): in the API's error shape under
    its paths, plain text elsewhere."""
    assert isinstance(error, HTTPException)
    if request.url.path.startswith(API_PATHS):
        response = error_response(error.status_code,
                                  STATUS_CODES.get(error.status_code, "refused"), error.detail)
    else:
        response = PlainTextResponse(error.detail, error.status_code)
    response.headers.update(error.headers or {})  # a 405's Allow
    return response


async def storage_error(request: Request, error: Exception) -> Response:
    """A storage error never reaches the client as a bare 500: a full or busy store is
    `unavailable` (503, with when to try again), anything else a fault of ours (logged)."""
    assert isinstance(error, StorageError)
    status, code, message = 503, "unavailable", error.unavailable
    if message is not None:
        log.warning("storage refused %s %s: %s", request.method, request.url.path, error)
    else:
        log.error("%s %s failed in storage", request.method, request.url.path, exc_info=error)
        status, code, message = 500, "internal_error", "that failed on our side; try again"
    response = (error_response(status, code, message)
                if request.url.path.startswith(API_PATHS) else
                PlainTextResponse(message, status))
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@dataclass(frozen=True)
class Caller:
    """The agent behind a request, and the scope their Idempotency-Keys live in (one per API
    token; the console's session for an agent signed in there)."""

    agent: Agent
    scope: str

    @property
    def session_id(self) -> str | None:
        """The console session making the request (None for an API token)."""
        kind, _, value = self.scope.partition(":")
        return value if kind == "session" else None


Endpoint = Callable[[Request, Caller], Awaitable[Response]]
ShopEndpoint = Callable[[Request, Caller | Integration], Awaitable[Response]]
Handler = Callable[[Request], Awaitable[Response]]


def an_agent(caller: Caller | Integration) -> Caller:
    """The caller, if an agent: an integration token is refused (403)."""
    if isinstance(caller, Integration):
        raise ApiError(403, "integration_token", "an integration token writes orders and "
                       "reads customers; this is for agents")
    return caller


def authenticated(endpoint: Endpoint) -> Handler:
    """For agents only: an integration token is refused (403), as `open_to_integrations`
    describes for everything else."""
    async def agents_only(request: Request, caller: Caller | Integration) -> Response:
        return await endpoint(request, an_agent(caller))
    return open_to_integrations(agents_only)


def open_to_integrations(endpoint: ShopEndpoint) -> Handler:
    """A Bearer token (an agent's or an integration's), or the console's session cookie with
    its CSRF token on every request that changes anything; 401 otherwise. Refusals raised
    inside become JSON errors."""
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request, await the_caller(request))
        except Refused as error:
            return error_response(error.status, error.code, error.message)
    return wrapper


async def the_caller(request: Request) -> Caller | Integration:
    """Who a request comes from (see `caller_of`); nobody, or a token that is not valid: 401."""
    caller = await caller_of(request)
    if caller is None:
        raise ApiError(401, "unauthorized", "a valid API token is required "
                       "(Authorization: Bearer <token>)")
    return caller


async def caller_of(request: Request) -> Caller | Integration | None:
    """Who a request comes from by its Bearer token or console session (None: nobody);
    a session's change without its CSRF token is refused (403)."""
    token = bearer_token(request.headers)
    if token is not None:
        holder = await services(request).team.token_holder(token)
        scope = "token:" + hashlib.sha256(token.encode()).hexdigest()
        return Caller(holder, scope) if isinstance(holder, Agent) else holder
    session = await request.app.state.sessions.find(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    if request.method not in SAFE_METHODS and not csrf_ok(
            session.csrf, request.headers.get("x-csrf-token")):
        raise ApiError(403, "csrf", "the X-CSRF-Token header is missing or wrong")
    return Caller(session.agent, f"session:{session.id}")


async def json_body(request: Request, spec: Fields) -> dict[str, Any]:
    """The request's JSON object, checked against `spec`; 422 with the reason otherwise."""
    raw = await request.body()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(422, "invalid", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", "the body must be a JSON object")
    return checked(body, spec)


def checked(body: dict[str, Any], spec: Fields, context: str = "body") -> dict[str, Any]:
    """`body` checked against `spec`; 422 naming `context` and the field otherwise."""
    try:
        return check_fields(body, spec, context)
    except FrameError as error:
        raise ApiError(422, "invalid", error.message) from None


def query_text(request: Request, name: str, default: str = "") -> str:
    """A query parameter's text; one with a NUL is refused (422), as in bodies
    (frames.no_nul: PostgreSQL could not even compare it)."""
    value = request.query_params.get(name, default)
    try:
        return no_nul(value)
    except ValueError as reason:
        raise ApiError(422, "invalid", f"{name} {reason}") from None


ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only: int() also takes other scripts, 1_0, " 1\n"


def path_id(request: Request, what: str) -> int:
    """The `{id}` in the path; anything but a number that fits SQLite's integers names
    nothing (404)."""
    text = request.path_params["id"]
    if not ID.fullmatch(text) or int(text) == 0:
        raise ApiError(404, "not_found", f"no such {what}")
    return int(text)
