"""A visitor's own copy of their chats (docs/protocol.md): `GET /api/visitor/transcript`,
authorized by their token in `X-Visitor-Token`, answers a zip of `transcript.txt` and the
files sent in their conversations (`?format=txt`: the text alone). The widget on the shop's
site asks for it, so it answers allowed origins as the attachments API does."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.domain.errors import Refused
from chatserver.web.api_schemas import ref
from chatserver.web.attachments_api import cross_origin, visitor_of, visitor_preflight
from chatserver.web.http import ApiError, error_response
from chatserver.web.openapi import Answer, describe
from chatserver.web.services import services

PATH = "/api/visitor/transcript"
FORMATS = ("zip", "txt")


@describe(
    "The visitor's own transcript: a zip of transcript.txt and the files sent, or the text",
    "visitor",
    {
        200: Answer("Their conversations, oldest first, without private notes.",
                    {"type": "string", "format": "binary"}, "*/*"),
        404: Answer("The visitor has no conversation yet.", ref("Error")),
        422: Answer("format is neither zip nor txt.", ref("Error")),
        429: Answer("Too many downloads this hour.", ref("Error")),
    },
    query={"format": {"type": "string", "enum": list(FORMATS)}},
)
async def transcript(request: Request) -> Response:
    try:
        response = await _copy(request)
    except Refused as error:
        response = error_response(error.status, error.code, error.message)
    response.headers.update(cross_origin(request))
    return response


async def _copy(request: Request) -> Response:
    shape = request.query_params.get("format", "zip")
    if shape not in FORMATS:
        raise ApiError(422, "invalid", "format is zip (the default) or txt")
    visitor_id = await visitor_of(request)
    if visitor_id is None:
        raise ApiError(401, "unauthorized", "the visitor's token (X-Visitor-Token) is required")
    transcripts = services(request).transcripts
    if shape == "txt":
        latest, text = await transcripts.own_text(visitor_id)
        return _file(text.encode(), "text/plain; charset=utf-8", f"transcript-{latest}.txt")
    latest, data = await transcripts.own_zip(visitor_id)
    return _file(data, "application/zip", f"transcript-{latest}.zip")


def _file(data: bytes, media_type: str, name: str) -> Response:
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@describe(
    "CORS preflight for the widget's download",
    "public",
    {204: Answer("The CORS answer (its headers only for allowed origins).")},
)
async def preflight(request: Request) -> Response:
    return visitor_preflight(request, "GET")


routes = [
    Route(PATH, transcript, methods=["GET"]),
    Route(PATH, preflight, methods=["OPTIONS"]),
]
