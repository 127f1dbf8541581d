"""The REST API: JSON, Bearer tokens, errors as {"error": {"code", "message"}}."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from chatserver.domain.models import Conversation, Message
from chatserver.domain.transcript import entry
from chatserver.store.base import RETRY_AFTER_SECONDS
from chatserver.web.api_schemas import STRING, array, record, ref
from chatserver.web.http import ApiError, Caller, authenticated, json_response, path_id
from chatserver.web.openapi import Answer, describe
from chatserver.web.services import services


@describe(
    "Health of this process",
    "public",
    {
        200: Answer("Serving.", record(status=STRING)),
        503: Answer("The database cannot be reached.", ref("Error"), headers=("Retry-After",)),
    },
)
async def health(request: Request) -> Response:
    """200 while this process can serve; 503 while its database cannot be reached (a
    balancer then sends no one here)."""
    health = services(request).health
    if await health.database_answers():
        return json_response({"status": "ok", **health.backends})
    return json_response({"status": "unavailable", **health.backends,
                          "error": {"code": "unavailable",
                                    "message": "the database cannot be reached"}},
                         503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _transcript(request: Request) -> tuple[Conversation, list[Message]]:
    conversation_id = path_id(request, "conversation")
    found = await services(request).console.transcript(conversation_id)
    if found is None:
        raise ApiError(404, "not_found", "no such conversation")
    return found


@describe(
    "A conversation, its messages and history",
    "agent",
    {
        200: Answer(
            "The conversation.",
            record(
                conversation=ref("Conversation"),
                messages=array("Message"),
                history={"type": "array"},
            ),
        )
    },
)
@authenticated
async def conversation_json(request: Request, caller: Caller) -> Response:
    conversation, messages = await _transcript(request)
    record = await services(request).console.record(conversation)
    link = services(request).agent_desk.link
    return json_response({"conversation": record["conversation"],
                          "messages": [m.for_agent(link) for m in messages],
                          "history": record["history"]})


@describe(
    "A conversation as plain text", "agent", {200: Answer("The transcript.", STRING, "text/plain")}
)
@authenticated
async def conversation_text(request: Request, caller: Caller) -> Response:
    conversation, messages = await _transcript(request)
    lines = [f"Conversation {conversation.id} ({conversation.status}), "
             f"started {conversation.created_at}", ""]
    lines.extend(entry(m, m.at) for m in messages)
    return PlainTextResponse("\n".join(lines) + "\n")


routes = [
    Route("/api/health", health),
    Route("/api/conversations/{id}", conversation_json),
    Route("/api/conversations/{id}/transcript.txt", conversation_text),
]
