"""Attachments over HTTP (docs/protocol.md): `POST /api/attachments` takes one file from a
visitor (their token in `X-Visitor-Token`) or an agent (token or console session), and
`GET /api/attachments/{id}` serves it to whoever holds its signed link, as inert content."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.domain.attachments import disposition
from chatserver.domain.errors import Refused
from chatserver.web.api_schemas import envelope, ref
from chatserver.web.http import (
    ApiError,
    an_agent,
    caller_of,
    error_response,
    json_response,
    path_id,
)
from chatserver.web.openapi import Answer, describe
from chatserver.web.origins import origin_allowed
from chatserver.web.services import services

UPLOAD_FORM = {"type": "object", "required": ["file"],
               "properties": {"file": {"type": "string", "format": "binary"}}}

UPLOAD_PATH = "/api/attachments"
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries and headers around the file
# nothing in a served file may run, load or navigate, even if a browser took it for a page
SANDBOX = "default-src 'none'; sandbox"


@describe(
    "Upload one file",
    "uploader",
    {
        201: Answer("Kept.", envelope("attachment", ref("Attachment"))),
        413: Answer("The file is too large.", ref("Error")),
        415: Answer("Not a kind of file taken.", ref("Error")),
        422: Answer("Not a form with one file.", ref("Error")),
    },
    body=UPLOAD_FORM,
    body_media_type="multipart/form-data",
)
async def upload(request: Request) -> Response:
    try:
        kind, uploader_id = await _uploader(request)
        name, data = await _file(request)
        attachments = services(request).attachments
        kept = await attachments.upload(kind, uploader_id, name, data)
        response = json_response({"attachment": kept.ref().for_client(attachments.link)}, 201)
    except Refused as error:
        response = error_response(error.status, error.code, error.message)
    response.headers.update(cross_origin(request))
    return response


@describe(
    "CORS preflight for the widget's upload",
    "public",
    {204: Answer("The CORS answer (its headers only for allowed origins).")},
)
async def preflight(request: Request) -> Response:
    """The browser's question before a widget on the shop's site posts a file here."""
    return visitor_preflight(request, "POST")


def visitor_preflight(request: Request, method: str) -> Response:
    """The answer to a widget's preflight for `method` with its token header, from an
    allowed origin."""
    headers = cross_origin(request)
    if headers:
        headers.update({"Access-Control-Allow-Methods": method,
                        "Access-Control-Allow-Headers": "X-Visitor-Token",
                        "Access-Control-Max-Age": "600"})
    return Response(status_code=204, headers=headers)


def cross_origin(request: Request) -> dict[str, str]:
    """The widget's page may read the answer when its origin may open the chat's socket
    (ALLOWED_ORIGINS); no cookies cross (a visitor's token is a header)."""
    origin = request.headers.get("origin")
    if origin is None or not origin_allowed(request.scope,
                                            request.app.state.settings.allowed_origins):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


async def visitor_of(request: Request) -> str | None:
    """The visitor whose token is in `X-Visitor-Token` (None: no such header; ApiError 401:
    a token that names no visitor)."""
    token = request.headers.get("x-visitor-token")
    if token is None:
        return None
    visitor_id = await services(request).attachments.visitor_id(token)
    if visitor_id is None:
        raise ApiError(401, "unauthorized", "the X-Visitor-Token is not a visitor's")
    return visitor_id


async def _uploader(request: Request) -> tuple[str, str]:
    visitor_id = await visitor_of(request)
    if visitor_id is not None:
        return "visitor", visitor_id
    caller = await caller_of(request)
    if caller is None:
        raise ApiError(401, "unauthorized", "a visitor's token (X-Visitor-Token) or an "
                       "agent's (Authorization: Bearer <token>) is required")
    return "agent", str(an_agent(caller).agent.id)


async def _file(request: Request) -> tuple[str | None, bytes]:
    """The form's one `file`: its name and bytes (the body's size was bounded on the way in,
    by BodyLimit)."""
    try:
        form = await request.form(max_files=1, max_fields=4)
    except HTTPException as error:
        raise ApiError(422, "invalid", f"the body is not a form with one file: "
                       f"{error.detail}") from None
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise ApiError(422, "invalid", "send the file as multipart/form-data, in the "
                           "field `file`")
        return file.filename, await file.read()
    finally:
        await form.close()


@describe(
    "A file, by its signed link",
    "signed_link",
    {
        200: Answer("The file, as inert content.", {"type": "string", "format": "binary"}, "*/*"),
        403: Answer("The link is not valid or has expired.", ref("Error")),
    },
    query={
        "expires": {"type": "string"},
        "signature": {"type": "string"},
        "thumbnail": {"type": "string"},
    },
)
async def download(request: Request) -> Response:
    thumbnail = "thumbnail" in request.query_params
    try:
        kept, data = await services(request).attachments.served(
            path_id(request, "file"), request.query_params.get("expires", ""),
            request.query_params.get("signature", ""), thumbnail)
    except Refused as error:
        return error_response(error.status, error.code, error.message)
    media_type = "image/png" if thumbnail else kept.content_type
    if media_type == "text/plain":
        media_type += "; charset=utf-8"
    return Response(data, media_type=media_type, headers={
        "Content-Security-Policy": SANDBOX,
        "Content-Disposition": disposition(kept.content_type, kept.name),
        "Cache-Control": "private, max-age=3600"})


def upload_limit(max_upload_bytes: int) -> dict[str, int]:
    """The body the upload path takes (BodyLimit's limit there): the largest file, in its
    form."""
    return {UPLOAD_PATH: max_upload_bytes + MULTIPART_OVERHEAD}


routes = [
    Route(UPLOAD_PATH, upload, methods=["POST"]),
    Route(UPLOAD_PATH, preflight, methods=["OPTIONS"]),
    Route(UPLOAD_PATH + "/{id}", download, methods=["GET"]),
]
