"""Settings an admin changes while the server runs (the widget's for now)."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.web.admin_acts import change_widget
from chatserver.web.api_schemas import OBJECT, envelope
from chatserver.web.http import ApiError, Caller, authenticated, json_response
from chatserver.web.openapi import Answer, describe
from chatserver.web.services import services


@describe(
    "The widget's settings",
    "public",
    {
        200: Answer(
            "The settings.",
            {
                "type": "object",
                "required": ["widget", "email_enabled"],
                "properties": {"widget": OBJECT, "email_enabled": {"type": "boolean"}},
            },
        )
    },
)
async def widget_settings(request: Request) -> Response:
    """Public: the widget's look and what visitors are told (the widget also gets these in
    `welcome`)."""
    site = services(request).site
    body = {"widget": site.widget_for_visitors(), "email_enabled": site.email_enabled}
    return json_response(body, headers={"Access-Control-Allow-Origin": "*",
                                        "Cache-Control": "public, max-age=60"})


@describe(
    "Change the widget's settings",
    "admin",
    {200: Answer("The settings now.", envelope("widget", OBJECT))},
    body=OBJECT,
)
@authenticated
async def change_widget_settings(request: Request, caller: Caller) -> Response:
    if caller.agent.role != "admin":
        raise ApiError(403, "forbidden", "only an admin changes the widget")
    try:
        changes = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise ApiError(422, "invalid", "the body is not valid JSON") from None
    if not isinstance(changes, dict):
        raise ApiError(422, "invalid", "the body must be a JSON object")
    widget = await change_widget(services(request), changes)
    return json_response({"widget": widget})


routes = [
    Route("/api/widget-settings", widget_settings, methods=["GET"]),
    Route("/api/widget-settings", change_widget_settings, methods=["PUT"]),
]
