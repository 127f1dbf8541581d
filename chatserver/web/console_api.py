"""REST for the console: inbox views and search, follow-ups, canned responses, reports, and
the admin's agents, API tokens and allowed origins."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.domain import reports
from chatserver.domain.frames import string
from chatserver.domain.orders import timestamp
from chatserver.store.base import INBOX_VIEWS
from chatserver.web import admin_acts
from chatserver.web.admin_acts import admin_only
from chatserver.web.api_schemas import OBJECT, QUERY_TEXT, envelope, listing, ref
from chatserver.web.http import (
    ApiError,
    Caller,
    authenticated,
    json_body,
    json_response,
    path_id,
    query_text,
)
from chatserver.web.openapi import Answer, describe
from chatserver.web.services import services

ORIGINS_ANSWER = {"type": "object", "required": ["origins", "from_environment"],
                  "properties": {"origins": {"type": "array"},
                                 "from_environment": {"type": "array"}}}


def oversee(caller: Caller) -> None:
    if not caller.agent.can_oversee:
        raise ApiError(403, "forbidden", "this is for supervisors and admins")


# --- inbox -------------------------------------------------------------------------------
@describe(
    "Conversations in an inbox view",
    "agent",
    {
        200: Answer("The conversations.", listing("conversations", "Conversation")),
        422: Answer("Unknown view, bad limit, or a NUL in q.", ref("Error")),
    },
    query={
        "view": {"enum": list(INBOX_VIEWS)},
        "q": QUERY_TEXT,
        "limit": {"type": "integer", "minimum": 1, "maximum": 500},
    },
)
@authenticated
async def conversations(request: Request, caller: Caller) -> Response:
    view = request.query_params.get("view", "mine")
    if view not in INBOX_VIEWS:
        raise ApiError(422, "invalid", f"view is one of {', '.join(INBOX_VIEWS)}")
    try:
        limit = min(500, max(1, int(request.query_params.get("limit", "100"))))
    except ValueError:
        raise ApiError(422, "invalid", "limit is a whole number") from None
    found = await services(request).console.inbox(
        view, caller.agent, query_text(request, "q") or None, limit)
    return json_response({"conversations": found})


# --- follow-ups --------------------------------------------------------------------------
FOLLOW_UP = {"due_at": (timestamp, True, None), "note": (string(1000), True, None)}


@describe(
    "Add a follow-up to a conversation",
    "agent",
    {201: Answer("Added.", envelope("follow_up", ref("FollowUp")))},
    body=FOLLOW_UP,
)
@authenticated
async def add_follow_up(request: Request, caller: Caller) -> Response:
    body = await json_body(request, FOLLOW_UP)
    found = await services(request).supervision.follow_up(
        caller.agent, path_id(request, "conversation"), body["due_at"], body["note"])
    return json_response({"follow_up": found}, 201)


@describe(
    "Follow-ups (yours, or all=1 for everyone's)",
    "agent",
    {200: Answer("The follow-ups.", listing("follow_ups", "FollowUp"))},
    query={"all": {"enum": ["1"]}, "done": {"enum": ["1"]}},
)
@authenticated
async def follow_ups(request: Request, caller: Caller) -> Response:
    found = await services(request).supervision.follow_ups(
        caller.agent, request.query_params.get("all") == "1",
        request.query_params.get("done") == "1")
    return json_response({"follow_ups": found})


@describe(
    "Mark a follow-up done", "agent", {200: Answer("Done.", envelope("follow_up", ref("FollowUp")))}
)
@authenticated
async def complete_follow_up(request: Request, caller: Caller) -> Response:
    follow_up_id = path_id(request, "follow-up")
    done = await services(request).supervision.complete_follow_up(caller.agent, follow_up_id)
    return json_response({"follow_up": done})


# --- canned responses --------------------------------------------------------------------
@describe(
    "Canned responses",
    "agent",
    {200: Answer("The canned responses.", listing("canned", "Canned"))},
    method="GET",
)
@authenticated
async def canned(request: Request, caller: Caller) -> Response:
    return json_response({"canned": await services(request).console.canned()})


@describe(
    "Add a canned response",
    "admin",
    {
        201: Answer("Added.", envelope("canned", ref("Canned"))),
        409: Answer("The shortcut is taken.", ref("Error")),
    },
    body=admin_acts.CANNED,
)
@authenticated
async def add_canned(request: Request, caller: Caller) -> Response:
    admin_only(caller.agent)
    body = await json_body(request, admin_acts.CANNED)
    found = await admin_acts.add_canned(services(request), body)
    return json_response({"canned": found}, 201)


@describe("Delete a canned response", "admin", {204: Answer("Deleted.")})
@authenticated
async def delete_canned(request: Request, caller: Caller) -> Response:
    admin_only(caller.agent)
    await services(request).console.delete_canned(path_id(request, "canned response"))
    return Response(status_code=204)


# --- reports -----------------------------------------------------------------------------
@describe(
    "The report over a range of days",
    "supervisor",
    {
        200: Answer("The report.", envelope("report", OBJECT)),
        422: Answer("Bad from or to.", ref("Error")),
    },
    query={
        "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
    },
)
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
@describe("The team's agents", "agent", {200: Answer("The agents.", listing("agents", "Agent"))})
@authenticated
async def agents(request: Request, caller: Caller) -> Response:
    return json_response({"agents": await services(request).team.accounts()})


@describe(
    "Add an agent",
    "admin",
    {
        201: Answer("Added.", envelope("agent", ref("Agent"))),
        409: Answer("The email is taken.", ref("Error")),
    },
    body=admin_acts.NEW_AGENT,
)
@authenticated
async def add_agent(request: Request, caller: Caller) -> Response:
    admin_only(caller.agent)
    body = await json_body(request, admin_acts.NEW_AGENT)
    found = await admin_acts.add_agent(services(request), caller.agent, body)
    return json_response({"agent": found}, 201)


@describe(
    "Change an agent",
    "admin",
    {
        200: Answer("Changed.", envelope("agent", ref("Agent"))),
        409: Answer("Not possible (e.g. the last admin).", ref("Error")),
    },
    body=admin_acts.AGENT_CHANGES,
)
@authenticated
async def change_agent(request: Request, caller: Caller) -> Response:
    admin_only(caller.agent)
    agent_id = path_id(request, "agent")
    body = await json_body(request, admin_acts.AGENT_CHANGES)
    found = await admin_acts.change_agent(services(request), caller.agent, agent_id, body,
                                          caller.session_id)
    return json_response({"agent": found})


@describe(
    "API tokens (an admin sees all; others their own)",
    "agent",
    {200: Answer("The tokens (never their secret).", listing("tokens", "Token"))},
)
@authenticated
async def tokens(request: Request, caller: Caller) -> Response:
    mine = None if caller.agent.role == "admin" else caller.agent.id
    return json_response({"tokens": await services(request).team.tokens(mine)})


@describe(
    "Create an API token (its secret is shown once)",
    "agent",
    {
        201: Answer("Created.", envelope("token", ref("NewToken"))),
        404: Answer("agent_id names no agent.", ref("Error")),
    },
    body=admin_acts.NEW_TOKEN,
)
@authenticated
async def create_token(request: Request, caller: Caller) -> Response:
    body = await json_body(request, admin_acts.NEW_TOKEN)
    found = await admin_acts.create_token(services(request), caller.agent, body)
    return json_response({"token": found}, 201)


@describe("Revoke an API token", "agent", {204: Answer("Revoked.")})
@authenticated
async def revoke_token(request: Request, caller: Caller) -> Response:
    token_id = path_id(request, "token")
    await services(request).team.revoke_token(
        token_id, None if caller.agent.role == "admin" else caller.agent.id, caller.agent.id)
    return Response(status_code=204)


@describe(
    "The widget's allowed origins",
    "agent",
    {200: Answer("The origins.", ORIGINS_ANSWER)},
    method="GET",
)
@describe(
    "Set the widget's allowed origins",
    "admin",
    {200: Answer("The origins now.", ORIGINS_ANSWER)},
    body=admin_acts.ORIGINS,
    method="PUT",
)
@authenticated
async def allowed_origins(request: Request, caller: Caller) -> Response:
    site = services(request).site
    if request.method == "PUT":
        admin_only(caller.agent)
        body = await json_body(request, admin_acts.ORIGINS)
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
