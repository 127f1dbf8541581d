"""The REST API's OpenAPI 3.1 description, generated from the code: each handler carries its
`Operation` (`@describe(...)`, right beside it), request bodies come from the same `Fields`
the handler checks, and `document(routes)` walks the app's routes. The sockets are not REST:
docs/protocol.md describes them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chatserver.domain.frames import Fields
from chatserver.web import api_schemas as schemas
from chatserver.web.api_schemas import Answer
from chatserver.web.http import API_PATHS, json_response

OPENAPI_PATH = "/api/openapi.json"
IGNORED_METHODS = {"HEAD"}  # Starlette answers HEAD beside every GET


@dataclass(frozen=True)
class Operation:
    """What one method of one path takes and answers. `auth` names who may call it (a key of
    api_schemas.AUTH); `body` is the handler's own Fields, or a ready schema."""

    summary: str
    auth: str
    responses: dict[int, Answer]
    body: Fields | dict[str, Any] | None = None
    body_media_type: str = "application/json"
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""


Handler = Callable[..., Any]


def describe(summary: str, auth: str, responses: dict[int, Answer], *,
             method: str | None = None, **details: Any) -> Callable[[Handler], Handler]:
    """Attach an Operation to a handler (for `method` only, when one handler takes several)."""
    if auth not in schemas.AUTH:
        raise ValueError(f"unknown auth {auth!r}: one of {', '.join(schemas.AUTH)}")
    operation = Operation(summary, auth, responses, **details)

    def attach(handler: Handler) -> Handler:
        handler.__dict__.setdefault("openapi", {})[method] = operation
        return handler
    return attach


def operation_of(route: Route, method: str) -> Operation | None:
    described: dict[str | None, Operation] = getattr(route.endpoint, "openapi", {})
    return described.get(method, described.get(None))


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[tuple[Route, str]]:
    """Every (route, method) the REST API answers: paths under /api and /webhooks."""
    for route in routes:
        if isinstance(route, Route) and route.path.startswith(API_PATHS):
            for method in sorted((route.methods or {"GET"}) - IGNORED_METHODS):
                yield route, method


def undescribed(routes: Iterable[BaseRoute]) -> list[str]:
    """`METHOD /path` of each REST route that has no Operation (a test keeps this empty)."""
    return [f"{method} {route.path}" for route, method in api_routes(routes)
            if operation_of(route, method) is None]


PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def document(routes: Iterable[BaseRoute], version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document for the REST routes among `routes`."""
    paths: dict[str, dict[str, Any]] = {}
    for route, method in api_routes(routes):
        operation = operation_of(route, method)
        if operation is None:
            raise LookupError(f"{method} {route.path} has no @describe")
        path = PATH_PARAM.sub(r"{\1}", route.path)
        paths.setdefault(path, {})[method.lower()] = _operation(operation, path, method)
    return {
        "openapi": "3.1.0",
        "info": {"title": "chatserver REST API", "version": version,
                 "description": schemas.INTRODUCTION},
        "paths": paths,
        "components": {"schemas": schemas.COMPONENTS,
                       "securitySchemes": schemas.SECURITY_SCHEMES},
    }


def _operation(operation: Operation, path: str, method: str) -> dict[str, Any]:
    who = schemas.AUTH[operation.auth]
    described: dict[str, Any] = {
        "summary": operation.summary,
        "description": "\n\n".join(filter(None, [operation.description, "Who: " + who.who])),
        "operationId": re.sub(r"[^a-z0-9]+", "_", f"{method} {path}".lower()).strip("_"),
        "security": who.security,
        "parameters": _parameters(operation, path),
        "responses": {str(status): _answer(answer)
                      for status, answer in sorted(_responses(operation, path).items())},
    }
    if operation.body is not None:
        described["requestBody"] = {"required": True, "content": {
            operation.body_media_type: {"schema": schemas.body_schema(operation.body)}}}
    return described


def _parameters(operation: Operation, path: str) -> list[dict[str, Any]]:
    found = [{"name": name, "in": "path", "required": True, "schema": schemas.PATH_ID}
             for name in PATH_PARAM.findall(path)]
    found += [{"name": name, "in": "query", "required": False, "schema": schema}
              for name, schema in operation.query.items()]
    found += [{"name": name, "in": "header", "required": bool(schema.pop("required", False)),
               "schema": schema} for name, schema in
              ((name, dict(schema)) for name, schema in operation.headers.items())]
    return found


def _responses(operation: Operation, path: str) -> dict[int, Answer]:
    """The operation's own answers and those every REST route shares: who (401/403), a bad
    body (422), an id that names nothing (404), too large a body (413), a busy store (503)."""
    shared = {503: Answer("The store is busy or full; try again after Retry-After seconds.",
                          schemas.ref("Error"), headers=("Retry-After",))}
    shared.update(schemas.AUTH[operation.auth].refusals)
    if operation.body is not None:
        shared[422] = Answer("The body is not what this takes (the message says which field).",
                             schemas.ref("Error"))
        shared[413] = Answer("The body is over the size limit.", schemas.ref("Error"))
    if "{" in path:
        shared[404] = Answer("The id names nothing.", schemas.ref("Error"))
    return {**shared, **operation.responses}


def _answer(answer: Answer) -> dict[str, Any]:
    described: dict[str, Any] = {"description": answer.description}
    if answer.schema is not None:
        described["content"] = {answer.media_type: {"schema": answer.schema}}
    if answer.headers:
        described["headers"] = {name: {"schema": {"type": "string"}} for name in answer.headers}
    return described


async def openapi_json(request: Request) -> Response:
    """The description, built once per app (the routes do not change while it runs)."""
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = document(request.app.routes, schemas.api_version())
    return json_response(state.openapi)


describe("This description (OpenAPI 3.1)", "public", {
    200: Answer("The OpenAPI document.", {"type": "object"})})(openapi_json)
routes = [Route(OPENAPI_PATH, openapi_json, methods=["GET"])]
