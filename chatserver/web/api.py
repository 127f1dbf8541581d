"""The REST API: JSON, Bearer tokens, errors as {"error": {"code", "message"}}."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from chatserver.domain.models import Conversation, Message
from chatserver.domain.transcript import entry
from chatserver.store import Store
from chatserver.web.http import ApiError, Caller, authenticated, json_response, path_id


def store_of(request: Request) -> Store:
    return request.app.state.chat.store


async def health(request: Request) -> Response:
    return json_response({"status": "ok"})


async def _transcript(request: Request) -> tuple[Conversation, list[Message]]:
    conversation_id = path_id(request, "conversation")
    store = store_of(request)
    conversation = await store.conversation(conversation_id)
    if conversation is None:
        raise ApiError(404, "not_found", "no such conversation")
    return conversation, await store.messages(conversation_id, 0, notes=True)


@authenticated
async def conversation_json(request: Request, caller: Caller) -> Response:
    conversation, messages = await _transcript(request)
    visitor = await store_of(request).visitor(conversation.visitor_id)
    public = conversation.public(request.app.state.chat.desk.queue_position(conversation.id))
    public.update({"visitor": visitor.public() if visitor else None,
                   "customer_id": conversation.customer_id,
                   "agent_id": conversation.agent_id, "created_at": conversation.created_at,
                   "closed_at": conversation.closed_at})
    past = await store_of(request).history(conversation.id)
    return json_response({"conversation": public, "messages": [m.for_agent() for m in messages],
                          "history": past})


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
