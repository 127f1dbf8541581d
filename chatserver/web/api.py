"""The REST API: JSON, Bearer tokens, errors as {"error": {"code", "message"}}."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from chatserver.domain.models import Agent, Conversation, Message
from chatserver.store import Store
from chatserver.web.auth import bearer_token


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def error_response(status: int, code: str, message: str) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status)


Endpoint = Callable[[Request, Agent], Awaitable[Response]]


def authenticated(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """Resolve the Bearer token to an agent (401 otherwise) and turn ApiError into JSON."""
    async def wrapper(request: Request) -> Response:
        token = bearer_token(request.headers)
        agent = await store_of(request).agent_by_token(token) if token else None
        if agent is None:
            return error_response(401, "unauthorized", "a valid API token is required "
                                  "(Authorization: Bearer <token>)")
        try:
            return await endpoint(request, agent)
        except ApiError as error:
            return error_response(error.status, error.code, error.message)
    return wrapper


def store_of(request: Request) -> Store:
    return request.app.state.chat.store


async def health(request: Request) -> Response:
    return json_response({"status": "ok"})


async def _transcript(request: Request) -> tuple[Conversation, list[Message]]:
    try:
        conversation_id = int(request.path_params["id"])
    except ValueError:
        raise ApiError(404, "not_found", "no such conversation") from None
    store = store_of(request)
    conversation = await store.conversation(conversation_id)
    if conversation is None:
        raise ApiError(404, "not_found", "no such conversation")
    return conversation, await store.messages(conversation_id, 0, notes=True)


@authenticated
async def conversation_json(request: Request, agent: Agent) -> Response:
    conversation, messages = await _transcript(request)
    visitor = await store_of(request).visitor(conversation.visitor_id)
    public = conversation.public(request.app.state.chat.desk.queue_position(conversation.id))
    public.update({"visitor": visitor.public() if visitor else None,
                   "customer_id": conversation.customer_id,
                   "agent_id": conversation.agent_id, "created_at": conversation.created_at,
                   "closed_at": conversation.closed_at})
    return json_response({"conversation": public,
                          "messages": [m.for_agent() for m in messages]})


@authenticated
async def conversation_text(request: Request, agent: Agent) -> Response:
    conversation, messages = await _transcript(request)
    lines = [f"Conversation {conversation.id} ({conversation.status}), "
             f"started {conversation.created_at}", ""]
    for m in messages:
        label = f"{m.author.name} ({m.author.role})" + (" [private note]" if m.private else "")
        lines.append(f"[{m.at}] {label}: {m.text}")
    return PlainTextResponse("\n".join(lines) + "\n")


routes = [
    Route("/api/health", health),
    Route("/api/conversations/{id}", conversation_json),
    Route("/api/conversations/{id}/transcript.txt", conversation_text),
]
