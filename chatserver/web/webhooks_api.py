"""REST for outgoing webhooks (admins only): endpoints, their recent deliveries, resending."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.web import admin_acts
from chatserver.web.admin_acts import admin_only
from chatserver.web.api_schemas import OBJECT, envelope, listing, ref
from chatserver.web.http import Caller, authenticated, json_body, json_response, path_id
from chatserver.web.openapi import Answer, describe
from chatserver.web.services import services


@describe(
    "Outgoing webhook endpoints and their recent deliveries",
    "admin",
    {200: Answer("The endpoints.", listing("endpoints", "WebhookEndpoint"))},
)
@authenticated
async def endpoints(request: Request, caller: Caller) -> Response:
    admin_only(caller.agent)
    return json_response({"endpoints": await services(request).webhooks.endpoints()})


@describe(
    "Add an outgoing webhook endpoint",
    "admin",
    {
        201: Answer(
            "Added (its secret is in the answer).", envelope("endpoint", ref("WebhookEndpoint"))
        )
    },
    body=admin_acts.WEBHOOK_ENDPOINT,
)
@authenticated
async def add_endpoint(request: Request, caller: Caller) -> Response:
    admin_only(caller.agent)
    body = await json_body(request, admin_acts.WEBHOOK_ENDPOINT)
    found = await admin_acts.add_webhook_endpoint(services(request), body)
    return json_response({"endpoint": found}, 201)


@describe("Delete an outgoing webhook endpoint", "admin", {204: Answer("Deleted.")})
@authenticated
async def delete_endpoint(request: Request, caller: Caller) -> Response:
    admin_only(caller.agent)
    await services(request).webhooks.delete_endpoint(path_id(request, "webhook endpoint"))
    return Response(status_code=204)


@describe("Send a delivery again", "admin", {202: Answer("Queued.", envelope("delivery", OBJECT))})
@authenticated
async def resend(request: Request, caller: Caller) -> Response:
    admin_only(caller.agent)
    delivery = await services(request).webhooks.resend(path_id(request, "webhook delivery"))
    return json_response({"delivery": delivery}, 202)


routes = [
    Route("/api/webhook-endpoints", endpoints, methods=["GET"]),
    Route("/api/webhook-endpoints", add_endpoint, methods=["POST"]),
    Route("/api/webhook-endpoints/{id}", delete_endpoint, methods=["DELETE"]),
    Route("/api/webhook-deliveries/{id}/resend", resend, methods=["POST"]),
]
