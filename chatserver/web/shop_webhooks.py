"""Order webhooks in Shopify's and WooCommerce's own formats (domain/shops.py maps them):
verified by the platform's signature, saved as `/webhooks/orders` saves orders (a replay,
or a delivery older than the last applied to its order, changes nothing). Stripe's events
(orders and refunds) are the Stripe service's to verify and apply."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.domain import shops
from chatserver.domain.errors import Refused
from chatserver.domain.stripe_events import ORDER_EVENTS, REFUND_EVENTS
from chatserver.service.commerce import Commerce
from chatserver.web.api_schemas import INTEGER, OBJECT, STRING, record, ref
from chatserver.web.commerce_api import record_body
from chatserver.web.http import error_response, json_response
from chatserver.web.openapi import Answer, describe
from chatserver.web.services import services

SIGNATURE = {"type": "string", "description": "base64 HMAC-SHA256 of the raw body"}


def topic(*applied: str) -> dict[str, Any]:
    """A topic header: those applied, or any other (acknowledged and ignored)."""
    return {"anyOf": [{"enum": sorted(applied)}, {"type": "string"}]}


STRIPE_EVENT = record(id=STRING, type=topic(*ORDER_EVENTS, *REFUND_EVENTS),
                      created=INTEGER, data=record(object=OBJECT))
SHOP_ANSWERS = {200: Answer("Applied, or acknowledged and ignored.", OBJECT),
                201: Answer("A new order.", OBJECT),
                422: Answer("The payload is not what the platform sends.", ref("Error"))}


def commerce(request: Request) -> Commerce:
    return services(request).commerce


def payload(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise shops.invalid("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise shops.invalid("the body must be a JSON object")
    return body


def ignored(why: str | None = None) -> Response:
    return json_response({"ignored": True, **({"why": why} if why else {})})


async def saved(request: Request, order: shops.ShopOrder, signature: str) -> Response:
    status, found = await commerce(request).webhook_order(order.fields, order.changed_at,
                                                          signature)
    return ignored() if found is None else json_response(record_body("order", found), status)


@describe(
    "Shopify's order and refund webhooks",
    "signature",
    SHOP_ANSWERS,
    body=OBJECT,
    headers={
        "X-Shopify-Hmac-Sha256": SIGNATURE,
        "X-Shopify-Topic": topic(*shops.SHOPIFY_ORDER_TOPICS, "refunds/create"),
    },
)
async def shopify(request: Request) -> Response:
    """Shopify's orders/create, orders/updated, orders/cancelled, orders/paid and
    refunds/create; other topics are acknowledged and ignored."""
    raw = await request.body()
    signature = request.headers.get("x-shopify-hmac-sha256")
    topic = request.headers.get("x-shopify-topic", "")
    try:
        shops.verify(request.app.state.settings.shopify_webhook_secret, raw, signature,
                     "X-Shopify-Hmac-Sha256")
        if topic in shops.SHOPIFY_ORDER_TOPICS:
            return await saved(request, shops.shopify_order(payload(raw)), str(signature))
        if topic == "refunds/create":
            refund = shops.shopify_refund(payload(raw))
            found = await commerce(request).refund_elsewhere(refund)
            # an order not seen yet brings its refunds along when it comes
            return ignored() if found is None else json_response(record_body("order", found))
    except shops.NoBuyer as reason:
        return ignored(str(reason))
    except Refused as error:
        return error_response(error.status, error.code, error.message)
    return ignored()


@describe(
    "WooCommerce's order webhooks",
    "signature",
    {**SHOP_ANSWERS, 200: Answer("Applied, ignored, or the unsigned ping.", OBJECT)},
    body=OBJECT,
    headers={
        "X-WC-Webhook-Signature": SIGNATURE,
        "X-WC-Webhook-Topic": topic(*shops.WOOCOMMERCE_ORDER_TOPICS),
    },
)
async def woocommerce(request: Request) -> Response:
    """WooCommerce's order.created, order.updated and order.restored (other topics are
    acknowledged and ignored), and the unsigned ping it sends when a webhook is saved."""
    raw = await request.body()
    signature = request.headers.get("x-wc-webhook-signature")
    if signature is None and shops.is_woocommerce_ping(raw):
        return json_response({"ping": True})
    try:
        shops.verify(request.app.state.settings.woocommerce_webhook_secret, raw, signature,
                     "X-WC-Webhook-Signature")
        if request.headers.get("x-wc-webhook-topic") in shops.WOOCOMMERCE_ORDER_TOPICS:
            return await saved(request, shops.woocommerce_order(payload(raw)), str(signature))
    except shops.NoBuyer as reason:
        return ignored(str(reason))
    except Refused as error:
        return error_response(error.status, error.code, error.message)
    return ignored()


@describe(
    "Stripe's events",
    "signature",
    SHOP_ANSWERS,
    body=STRIPE_EVENT,
    headers={"Stripe-Signature": SIGNATURE},
)
async def stripe_events(request: Request) -> Response:
    """Stripe's checkout.session.completed and charge.succeeded (orders) and its refund
    events; others are acknowledged and ignored."""
    try:
        status, answer = await services(request).stripe.receive(
            await request.body(), request.headers.get("stripe-signature"))
    except Refused as error:
        return error_response(error.status, error.code, error.message)
    if "order" in answer:
        answer = record_body("order", answer["order"])
    return json_response(answer, status)


routes = [
    Route("/webhooks/shopify", shopify, methods=["POST"]),
    Route("/webhooks/woocommerce", woocommerce, methods=["POST"]),
    Route("/webhooks/stripe", stripe_events, methods=["POST"]),
]
