"""REST for the console: inbox views and search, follow-ups, canned responses, reports, and
the admin's agents, API tokens and allowed origins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.domain import reports
from chatserver.domain.frames import ID, boolean, email, integer, nullable, one_of, string
from chatserver.domain.models import ROLES
from chatserver.domain.orders import timestamp
from chatserver.store.base import INBOX_VIEWS, AgentChanges
from chatserver.web.auth import hash_password
from chatserver.web.http import ApiError, Caller, authenticated, json_body, json_response, path_id
from chatserver.web.services import services

SHORTCUT = string(40)


def oversee(caller: Caller) -> None:
    if not caller.agent.can_oversee:
        raise ApiError(403, "forbidden", "this is for supervisors and admins")


def admin_only(caller: Caller) -> None:
    if caller.agent.role != "admin":
        raise ApiError(403, "forbidden", "this is for admins")


# --- inbox -------------------------------------------------------------------------------
@authenticated
async def conversations(request: Request, caller: Caller) -> Response:
    view = request.query_params.get("view", "mine")
    if view not in INBOX_VIEWS:
        raise ApiError(422, "invalid", f"view is one of {', '.join(INBOX_VIEWS)}")
    if view == "open":
        oversee(caller)
    try:
        limit = min(500, max(1, int(request.query_params.get("limit", "100"))))
    except ValueError:
        raise ApiError(422, "invalid", "limit is a whole number") from None
    found = await services(request).console.inbox(
        view, caller.agent.id, caller.agent.can_oversee,
        request.query_params.get("q") or None, limit)
    return json_response({"conversations": found})


# --- follow-ups --------------------------------------------------------------------------
FOLLOW_UP = {"due_at": (timestamp, True, None), "note": (string(1000), True, None)}


@authenticated
async def add_follow_up(request: Request, caller: Caller) -> Response:
    body = await json_body(request, FOLLOW_UP)
    found = await services(request).supervision.follow_up(
        caller.agent, path_id(request, "conversation"), body["due_at"], body["note"])
    return json_response({"follow_up": found}, 201)


@authenticated
async def follow_ups(request: Request, caller: Caller) -> Response:
    everyone = request.query_params.get("all") == "1"
    if everyone:
        oversee(caller)
    found = await services(request).supervision.follow_ups(
        None if everyone else caller.agent.id, request.query_params.get("done") == "1")
    return json_response({"follow_ups": found})


@authenticated
async def complete_follow_up(request: Request, caller: Caller) -> Response:
    follow_up_id = path_id(request, "follow-up")
    done = await services(request).supervision.complete_follow_up(caller.agent, follow_up_id)
    return json_response({"follow_up": done})


# --- canned responses --------------------------------------------------------------------
CANNED = {"shortcut": (SHORTCUT, True, None), "text": (string(4000), True, None)}


@authenticated
async def canned(request: Request, caller: Caller) -> Response:
    return json_response({"canned": await services(request).console.canned()})


@authenticated
async def add_canned(request: Request, caller: Caller) -> Response:
    admin_only(caller)
    body = await json_body(request, CANNED)
    shortcut = body["shortcut"].lstrip("/").lower()
    if not shortcut.replace("-", "").isalnum():
        raise ApiError(422, "invalid", "a shortcut is letters, digits and dashes")
    found = await services(request).console.add_canned(shortcut, body["text"])
    return json_response({"canned": found}, 201)


@authenticated
async def delete_canned(request: Request, caller: Caller) -> Response:
    admin_only(caller)
    await services(request).console.delete_canned(path_id(request, "canned response"))
    return Response(status_code=204)


# --- reports -----------------------------------------------------------------------------
@authenticated
async def report(request: Request, caller: Caller) -> Response:
    oversee(caller)
    try:
        first, last = reports.day_range(request.query_params.get("from"),
                                        request.query_params.get("to"), datetime.now(UTC).date())
    except ValueError as error:
        raise ApiError(422, "invalid", f"from and to: {error}") from None
    chats, money = await services(request).console.report_facts(first, last)
    return json_response({"report": reports.report(chats, money, first, last)})


# --- agents, tokens, origins (admin) ----------------------------------------------------
NEW_AGENT = {
    "email": (email, True, None), "name": (string(100), True, None),
    "role": (one_of(*ROLES), False, "agent"), "capacity": (integer(0, 1000), False, 3),
    "password": (nullable(string(200, 8)), False, None),
}
AGENT_CHANGES = {
    "name": (nullable(string(100)), False, None), "role": (nullable(one_of(*ROLES)), False, None),
    "capacity": (nullable(integer(0, 1000)), False, None),
    "disabled": (nullable(boolean), False, None),
    "password": (nullable(string(200, 8)), False, None),
}


@authenticated
async def agents(request: Request, caller: Caller) -> Response:
    return json_response({"agents": await services(request).team.accounts()})


@authenticated
async def add_agent(request: Request, caller: Caller) -> Response:
    admin_only(caller)
    body = await json_body(request, NEW_AGENT)
    password = body["password"]
    found = await services(request).team.add_account(
        body["email"], body["name"], body["role"], body["capacity"],
        hash_password(password) if password else None, caller.agent.id)
    return json_response({"agent": found}, 201)


@authenticated
async def change_agent(request: Request, caller: Caller) -> Response:
    admin_only(caller)
    agent_id = path_id(request, "agent")
    body = await json_body(request, AGENT_CHANGES)
    password = body["password"]
    changes = AgentChanges(name=body["name"], role=body["role"], capacity=body["capacity"],
                           disabled=body["disabled"],
                           password_hash=hash_password(password) if password else None)
    if agent_id == caller.agent.id and (changes["disabled"]
                                        or changes["role"] not in (None, "admin")):
        raise ApiError(409, "conflict", "an admin cannot disable or demote themselves")
    # signed out everywhere but here when it signs them out
    found = await services(request).team.change_account(
        agent_id, changes, caller.agent.id,
        kept=caller.session_id if agent_id == caller.agent.id else None)
    return json_response({"agent": found})


@authenticated
async def tokens(request: Request, caller: Caller) -> Response:
    mine = None if caller.agent.role == "admin" else caller.agent.id
    return json_response({"tokens": await services(request).team.tokens(mine)})


NEW_TOKEN = {"agent_id": (nullable(ID), False, None), "label": (nullable(string(100)), False,
                                                                  None),
             "integration": (boolean, False, False)}


@authenticated
async def create_token(request: Request, caller: Caller) -> Response:
    """A token for oneself, for another agent (admins), or for the shop's systems (admins)."""
    body = await json_body(request, NEW_TOKEN)
    agent_id = None if body["integration"] else body["agent_id"] or caller.agent.id
    if agent_id != caller.agent.id:
        admin_only(caller)
    if body["integration"] and body["agent_id"] is not None:
        raise ApiError(422, "invalid", "an integration token acts for no agent: give agent_id "
                       "or integration, not both")
    found = await services(request).team.issue_token(agent_id, body["label"], caller.agent.id)
    return json_response({"token": found}, 201)


@authenticated
async def revoke_token(request: Request, caller: Caller) -> Response:
    token_id = path_id(request, "token")
    await services(request).team.revoke_token(
        token_id, None if caller.agent.role == "admin" else caller.agent.id, caller.agent.id)
    return Response(status_code=204)


def origins_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(o, str) for o in value):
        raise ValueError("must be a list of origins like https://shop.example")
    cleaned = [o.strip().rstrip("/").lower() for o in value if o.strip()]
    if any(not o.startswith(("http://", "https://")) or "/" in o.split("://", 1)[1]
           for o in cleaned):
        raise ValueError("must be origins like https://shop.example (no path)")
    return cleaned


ORIGINS = {"origins": (origins_list, True, None)}


@authenticated
async def allowed_origins(request: Request, caller: Caller) -> Response:
    site = services(request).site
    if request.method == "PUT":
        admin_only(caller)
        body = await json_body(request, ORIGINS)
        await site.set_allowed_origins(body["origins"])
    return json_response({"origins": site.extra_origins,
                          "from_environment": list(site.environment_origins())})


routes = [
    Route("/api/conversations", conversations),
    Route("/api/conversations/{id}/follow-ups", add_follow_up, methods=["POST"]),
    Route("/api/follow-ups", follow_ups),
    Route("/api/follow-ups/{id}/done", complete_follow_up, methods=["POST"]),
    Route("/api/canned", canned, methods=["GET"]),
    Route("/api/canned", add_canned, methods=["POST"]),
    Route("/api/canned/{id}", delete_canned, methods=["DELETE"]),
    Route("/api/reports", report),
    Route("/api/agents", agents, methods=["GET"]),
    Route("/api/agents", add_agent, methods=["POST"]),
    Route("/api/agents/{id}", change_agent, methods=["PATCH"]),
    Route("/api/tokens", tokens, methods=["GET"]),
    Route("/api/tokens", create_token, methods=["POST"]),
    Route("/api/tokens/{id}", revoke_token, methods=["DELETE"]),
    Route("/api/allowed-origins", allowed_origins, methods=["GET", "PUT"]),
]
