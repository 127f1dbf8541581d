"""REST for a customer's data on request (admins only): the export, and the erase."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.domain import frames
from chatserver.service.privacy import MAX_REASON_CHARS, export_name
from chatserver.web.admin_acts import admin_only
from chatserver.web.api_schemas import OBJECT, ref
from chatserver.web.http import Caller, authenticated, json_body, json_response, path_id
from chatserver.web.openapi import Answer, describe
from chatserver.web.services import services

ERASE: frames.Fields = {"reason": (frames.string(MAX_REASON_CHARS), True, None)}


def export_filename(customer_id: int) -> str:
    return export_name(customer_id)


@describe(
    "Everything kept about a customer, as a file",
    "admin",
    {
        200: Answer(
            "The export.",
            {"type": "object", "required": ["customer"]},
            headers=("Content-Disposition",),
        )
    },
)
@authenticated
async def export(request: Request, caller: Caller) -> Response:
    """The JSON document, as a file to keep (the admin page's link downloads it); with
    `?format=zip`, a zip of it and the files its messages carry."""
    admin_only(caller.agent)
    customer_id = path_id(request, "customer")
    name = export_filename(customer_id)
    kept = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if request.query_params.get("format") == "zip":
        kept["Content-Disposition"] = kept["Content-Disposition"].replace(".json", ".zip")
        return Response(await services(request).privacy.export_zip(customer_id),
                        media_type="application/zip", headers=kept)
    return json_response(await services(request).privacy.export(customer_id), headers=kept)


@describe(
    "Erase a customer's personal data",
    "admin",
    {
        200: Answer("Erased.", OBJECT),
        409: Answer("The customer has an open conversation: close it first.", ref("Error")),
    },
    body=ERASE,
)
@authenticated
async def erase(request: Request, caller: Caller) -> Response:
    admin_only(caller.agent)
    customer_id = path_id(request, "customer")
    body = await json_body(request, ERASE)
    return json_response(await services(request).privacy.erase(customer_id, caller.agent,
                                                                body["reason"]))


routes = [
    Route("/api/customers/{id}/export", export, methods=["GET"]),
    Route("/api/customers/{id}/erase", erase, methods=["POST"]),
]
