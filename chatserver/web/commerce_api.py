"""REST for customers, orders, refunds, store credit and approvals.

Refunds and credits check, in this order: 401 (who), 422 (Idempotency-Key, body), 404
(order, customer, conversation), 403 (role; an agent needs a verified purchase or customer),
409 (more than is refundable); then 202 (waiting for a supervisor) or 201 (done).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.domain import frames, webhook
from chatserver.domain.clock import now
from chatserver.domain.errors import Refused
from chatserver.domain.frames import email, nullable, string
from chatserver.domain.ledger import Kind
from chatserver.domain.models import Integration
from chatserver.domain.money import cents, currency
from chatserver.domain.orders import ORDER, timestamp
from chatserver.service.commerce import Commerce
from chatserver.web.api_schemas import OBJECT, QUERY_TEXT, envelope, listing, ref, with_record
from chatserver.web.auth import bearer_token
from chatserver.web.http import (
    ApiError,
    Caller,
    authenticated,
    checked,
    error_response,
    json_body,
    json_response,
    open_to_integrations,
    path_id,
    query_text,
    the_caller,
)
from chatserver.web.openapi import Answer, describe
from chatserver.web.services import services

REFUND: frames.Fields = {
    "amount_cents": (cents, True, None),
    "reason": (string(1000), True, None),
    "conversation_id": (nullable(frames.ID), False, None),
}
CREDIT: frames.Fields = {
    **REFUND,
    "currency": (currency, True, None),
    "expires_at": (nullable(timestamp), False, None),
}
VERIFY: frames.Fields = {"order": (string(100), True, None), "email": (email, True, None)}
LINK: frames.Fields = {"customer_id": (frames.ID, True, None)}
DECISION: frames.Fields = {"note": (nullable(string(1000, 0)), False, None)}

IDEMPOTENCY = {"Idempotency-Key": {"type": "string", "minLength": 1, "maxLength": 255,
                                   "required": True}}
MONEY_RULES = ("Checked in this order: 401, 422 (Idempotency-Key, body), 404, 403 (role; an "
               "agent needs a verified purchase or customer), 409 (more than is refundable); "
               "then 202 (waiting for a supervisor) or 201 (done). The same key again answers "
               "as the first time.")


def money_answers(kind: Kind) -> dict[int, Answer]:
    return {201: Answer("Done: the ledger's new entry.", envelope(kind, ref("LedgerEntry"))),
            202: Answer("Waiting for a supervisor's approval.",
                        envelope("approval", ref("Approval"))),
            409: Answer("More than is refundable, or a key reused.", ref("Error"))}


DECISION_ANSWERS = {200: Answer("Decided (an approved one's entry beside it).",
                                envelope("approval", ref("Approval"))),
                    409: Answer("Already decided.", ref("Error"))}
SIGNED_ORDER_HEADERS = {
    "X-Chatserver-Timestamp": {"type": "string", "required": True,
                               "description": "Unix seconds, within 5 minutes of now"},
    "X-Chatserver-Signature": {"type": "string", "required": True,
                               "description": "sha256=<hex HMAC-SHA256 of timestamp.body>"}}


def commerce(request: Request) -> Commerce:
    return services(request).commerce


def record_body(name: str, record: dict[str, Any]) -> dict[str, Any]:
    """One record's answer: its fields at the top level, and the record under its name too,
    so that `body["orders"]` and `body["customer"]["orders"]` both read it."""
    return {**record, name: record}


@describe(
    "Write an order (insert or update by external_id)",
    "agent_or_integration",
    {
        200: Answer("Updated.", with_record("order", "Order")),
        201: Answer("Created.", with_record("order", "Order")),
    },
    body=ORDER,
    description="An integration token or an admin; other agents are refused (403).",
)
@open_to_integrations
async def post_order(request: Request, caller: Caller | Integration) -> Response:
    check_writes_orders(caller)
    body = await json_body(request, ORDER)
    status, order = await commerce(request).upsert_order(body)
    return json_response(record_body("order", order), status)


def check_writes_orders(caller: Caller | Integration) -> None:
    """The shop's systems write orders, or an admin: an order's amount, currency and buyer
    decide what may be refunded to whom, so no agent may change them (403)."""
    if isinstance(caller, Caller) and caller.agent.role != "admin":
        raise ApiError(403, "forbidden", "orders are written by the shop's systems (an "
                       "integration token) or an admin")


@describe(
    "An order from the shop's back end, signed",
    "signature",
    {
        200: Answer("Updated, or ignored (a replay or an older delivery).", OBJECT),
        201: Answer("Created.", with_record("order", "Order")),
        403: Answer("A Bearer token sent as well is an agent's or a supervisor's.",
                    ref("Error")),
        422: Answer("The body is not an order.", ref("Error")),
    },
    headers=SIGNED_ORDER_HEADERS,
)
async def order_webhook(request: Request) -> Response:
    """The shop's back end posts orders here, signed with WEBHOOK_SECRET (domain/webhook.py);
    a replay, or a webhook older than the last one applied to its order, changes nothing.
    The signature is what admits it; a Bearer token sent as well must be one that writes
    orders (401 a bad one, 403 an agent's or a supervisor's)."""
    raw = await request.body()
    signature = request.headers.get("x-chatserver-signature")
    try:
        if bearer_token(request.headers) is not None:
            check_writes_orders(await the_caller(request))
        timestamp = webhook.verified_timestamp(
            request.app.state.settings.webhook_secret,
            request.headers.get("x-chatserver-timestamp"), signature, raw, now())
        body = orjson.loads(raw)
        if not isinstance(body, dict):
            raise ApiError(422, "invalid", "the body must be a JSON object")
        status, order = await commerce(request).webhook_order(
            checked(body, ORDER), timestamp, str(signature).lower())
    except orjson.JSONDecodeError:
        return error_response(422, "invalid", "the body is not valid JSON")
    except Refused as error:
        return error_response(error.status, error.code, error.message)
    if order is None:
        return json_response({"ignored": True})
    return json_response(record_body("order", order), status)


@describe(
    "Customers by email",
    "agent_or_integration",
    {
        200: Answer("The customers.", listing("customers", "Customer")),
        422: Answer("No email given, or a NUL in it.", ref("Error")),
    },
    query={"email": QUERY_TEXT},
)
@open_to_integrations
async def find_customers(request: Request, caller: Caller | Integration) -> Response:
    wanted = query_text(request, "email")
    if not wanted.strip():
        raise ApiError(422, "invalid", "give ?email= to look customers up")
    return json_response({"customers": await commerce(request).customers_by_email(wanted)})


@describe(
    "A customer, their orders and store credit",
    "agent_or_integration",
    {200: Answer("The customer.", with_record("customer", "CustomerRecord"))},
)
@open_to_integrations
async def get_customer(request: Request, caller: Caller | Integration) -> Response:
    customer = await commerce(request).customer(path_id(request, "customer"))
    return json_response(record_body("customer", customer))


def idempotency_key(request: Request) -> str:
    key = request.headers.get("idempotency-key", "").strip()
    if not 1 <= len(key) <= 255:
        raise ApiError(422, "idempotency_key_required",
                       "send an Idempotency-Key header (1 to 255 characters) with every "
                       "refund and credit, the same one when you retry")
    return key


async def _money(request: Request, who: Caller | Integration, kind: Kind) -> Response:
    key = idempotency_key(request)
    body = await json_body(request, REFUND if kind == "refund" else CREDIT)
    target = path_id(request, "order" if kind == "refund" else "customer")
    # an integration token is refused in the contract's order: after the 422s and 404s
    actor, scope = ((who.agent, who.scope) if isinstance(who, Caller)
                    else (who, f"integration:{who.token_id}"))
    outcome = await commerce(request).give(kind, actor, scope, target, key, body)
    return json_response(outcome.body, outcome.status)


@describe(
    "Refund (part of) an order",
    "agent",
    money_answers("refund"),
    body=REFUND,
    headers=IDEMPOTENCY,
    description=MONEY_RULES,
)
@open_to_integrations
async def post_refund(request: Request, caller: Caller | Integration) -> Response:
    return await _money(request, caller, "refund")


@describe(
    "Give a customer store credit",
    "agent",
    money_answers("credit"),
    body=CREDIT,
    headers=IDEMPOTENCY,
    description=MONEY_RULES,
)
@open_to_integrations
async def post_credit(request: Request, caller: Caller | Integration) -> Response:
    return await _money(request, caller, "credit")


async def _decide(request: Request, caller: Caller, approve: bool) -> Response:
    body = await json_body(request, DECISION) if await request.body() else {"note": None}
    outcome = await commerce(request).decide(path_id(request, "approval"), approve,
                                             caller.agent, body["note"])
    return json_response(outcome.body, outcome.status)


@describe(
    "Approve a refund or credit waiting for a supervisor",
    "supervisor",
    DECISION_ANSWERS,
    body=DECISION,
)
@authenticated
async def approve(request: Request, caller: Caller) -> Response:
    return await _decide(request, caller, True)


@describe(
    "Reject a refund or credit waiting for a supervisor",
    "supervisor",
    DECISION_ANSWERS,
    body=DECISION,
)
@authenticated
async def reject(request: Request, caller: Caller) -> Response:
    return await _decide(request, caller, False)


@describe(
    "Approvals (supervisors see all; agents their own asks)",
    "agent",
    {
        200: Answer("The approvals.", listing("approvals", "Approval")),
        422: Answer("Unknown status.", ref("Error")),
    },
    query={"status": {"enum": ["pending", "approved", "rejected"]}},
)
@authenticated
async def list_approvals(request: Request, caller: Caller) -> Response:
    status = request.query_params.get("status") or None
    if status not in (None, "pending", "approved", "rejected"):
        raise ApiError(422, "invalid", "status is pending, approved or rejected")
    mine = None if caller.agent.can_oversee else caller.agent.id  # agents: their own asks
    return json_response({"approvals": await commerce(request).approvals(status, mine)})


@describe(
    "Verify a purchase for the visitor of a conversation",
    "agent",
    {
        200: Answer("Verified: the order.", envelope("order", ref("Order"))),
        409: Answer("Not possible in this state.", ref("Error")),
        429: Answer("Too many tries.", ref("Error")),
    },
    body=VERIFY,
)
@authenticated
async def verify(request: Request, caller: Caller) -> Response:
    body = await json_body(request, VERIFY)
    conversation_id = path_id(request, "conversation")
    commerce(request).check_in_charge(conversation_id, caller.agent)
    outcome = await commerce(request).verify(conversation_id, body["order"], body["email"],
                                             caller.agent)
    return json_response(outcome.body, outcome.status)


@describe(
    "Link a conversation to a customer",
    "agent",
    {
        200: Answer("Linked.", envelope("customer", ref("Customer"))),
        409: Answer("Not possible in this state.", ref("Error")),
    },
    body=LINK,
)
@authenticated
async def link(request: Request, caller: Caller) -> Response:
    body = await json_body(request, LINK)
    conversation_id = path_id(request, "conversation")
    commerce(request).check_in_charge(conversation_id, caller.agent)
    outcome = await commerce(request).link(conversation_id, body["customer_id"], caller.agent)
    return json_response(outcome.body, outcome.status)


routes = [
    Route("/api/orders", post_order, methods=["POST"]),
    Route("/webhooks/orders", order_webhook, methods=["POST"]),
    Route("/api/customers", find_customers),
    Route("/api/customers/{id}", get_customer),
    Route("/api/orders/{id}/refunds", post_refund, methods=["POST"]),
    Route("/api/customers/{id}/credits", post_credit, methods=["POST"]),
    Route("/api/approvals", list_approvals),
    Route("/api/approvals/{id}/approve", approve, methods=["POST"]),
    Route("/api/approvals/{id}/reject", reject, methods=["POST"]),
    Route("/api/conversations/{id}/verify", verify, methods=["POST"]),
    Route("/api/conversations/{id}/customer", link, methods=["POST"]),
]
