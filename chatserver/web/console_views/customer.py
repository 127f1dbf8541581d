"""The customer panel: who the customer is, orders, verify, refund and credit forms, the
ledger, approvals.

Forms post here and get the panel body back, re-rendered from the services, the answer under
the form that was sent (status 4xx when it was refused, what was typed kept). Each refund and
credit form carries a fresh idempotency key: a retry of a submission whose answer was lost
sends the same form, so the same key, and the money moves once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chatserver.domain.clock import now
from chatserver.domain.errors import Refused
from chatserver.domain.frames import email as checked_email
from chatserver.domain.ledger import Kind
from chatserver.domain.models import Agent, Visitor
from chatserver.domain.money import Money, MoneyError, currency, example, parse_amount
from chatserver.domain.money_checks import Chat, VerifiedOrder, check_may_give
from chatserver.service.commerce import Commerce
from chatserver.web.auth import Session
from chatserver.web.commerce_api import CREDIT, REFUND
from chatserver.web.console_views.base import changed, console_view, render
from chatserver.web.console_views.wording import AgentClock, plural, sentence
from chatserver.web.http import checked
from chatserver.web.services import services

BODY = "partials/customer/body.html"
APPROVALS = "partials/customer/approvals.html"


@dataclass
class Result:
    """The answer shown under a form: `tone` is ok, pending or error."""

    tone: str
    text: str
    detail: str | None = None


@dataclass
class Answer:
    """What a form post came to: the form it was, its result, what to show typed again."""

    form: str
    result: Result
    status: int = 200
    typed: dict[str, str] = field(default_factory=dict)


def money(cents: int, code: str) -> str:
    return str(Money(cents, code))


def percent(rate: float) -> str:
    return f"{round(rate * 100, 1):g}%"


SHOWN = {"money": money, "percent": percent, "plural": plural, "sentence": sentence,
         "example": example}


def shown(request: Request) -> dict[str, Any]:
    """What the templates call to word things, times on the agent's clock among them."""
    return {**SHOWN, **AgentClock.of(request).shown(now())}


def refused(form: str, error: Refused, typed: dict[str, str]) -> Answer:
    return Answer(form, Result("error", sentence(error.message)), error.status, typed)


def commerce(request: Request) -> Commerce:
    return services(request).commerce


def verified_here(conversation_id: int, owner: int | None, visitor: Visitor | None,
                  linked_to: int | None, customer: dict[str, Any]) -> Chat:
    """The chat as the money checks see it, from what the panel shows: the same rule then
    says which forms this agent gets."""
    orders = tuple(VerifiedOrder(o["id"], customer["id"]) for o in customer["orders"]
                   if conversation_id in o["verified_in_conversations"])
    identity = visitor.customer_id if visitor is not None and visitor.verified else None
    return Chat(conversation_id, owner, linked_to, identity, orders)


def may_give(agent: Agent, chat: Chat, customer_id: int, order_id: int | None) -> bool:
    try:
        check_may_give(agent, chat, customer_id, order_id)
    except Refused:
        return False
    return True


async def body(request: Request, session: Session, conversation_id: int,
               answer: Answer | None = None, customer_id: int | None = None,
               live: bool = False) -> Response:
    """The panel body for this chat; `answer` under the form that was sent."""
    try:
        conversation, visitor = await commerce(request).chat(conversation_id)
    except Refused as error:
        return Response(sentence(error.message), error.status, media_type="text/plain")
    owner = services(request).desk.owner(conversation_id)
    context: dict[str, Any] = {
        "conversation_id": conversation_id, "visitor": visitor, "customer": None,
        "acting": owner == session.agent.id and conversation.status != "closed",
        "answer": answer, "new_key": lambda: str(uuid.uuid4()), "load_error": None,
        "live": live, **shown(request)}
    shown_id = customer_id or conversation.customer_id
    if shown_id is not None:
        try:
            customer = await commerce(request).customer(shown_id)
        except Refused as error:
            context["load_error"] = f"Could not load the customer: {sentence(error.message)}"
        else:
            chat = verified_here(conversation_id, owner, visitor, conversation.customer_id,
                                 customer)
            context.update(customer_context(session.agent, chat, customer))
    status = answer.status if answer is not None else 200
    return render(request, BODY, session, status, **context)


def customer_context(agent: Agent, chat: Chat, customer: dict[str, Any]) -> dict[str, Any]:
    """What the panel shows of `customer` in `chat`, and which forms `agent` gets there."""
    return {
        "customer": customer, "identity": chat.identity_of == customer["id"],
        "verified_orders": [o for o in customer["orders"]
                            if chat.id in o["verified_in_conversations"]],
        "may_refund": {o["id"]: may_give(agent, chat, customer["id"], o["id"])
                       for o in customer["orders"]},
        "may_credit": may_give(agent, chat, customer["id"], None),
        "ledger": sorted(customer["ledger"], key=lambda e: (e["created_at"], e["id"]),
                         reverse=True)}


async def panel(request: Request, session: Session) -> Response:
    """The panel body for the selected chat (GET), or only its live parts (?live=1: swapped
    in place by id, so what is typed in the forms stays)."""
    conversation_id = int(request.path_params["conversation_id"])
    return await body(request, session, conversation_id,
                      live=request.query_params.get("live") == "1")


def typed_in(form: Any, *names: str) -> dict[str, str]:
    return {name: str(form.get(name, "")).strip() for name in names}


def outcome_result(kind: Kind, status: int, answer: dict[str, Any]) -> Result:
    if status == 202:
        why = "; ".join(answer["approval"]["why"]) or "a supervisor decides"
        return Result("pending", f"Sent for approval: {why}.")
    entry = answer[kind]
    done = money(entry["amount_cents"], entry["currency"])
    if entry.get("provider", "manual") != "manual":
        return provider_result(entry, done)
    text = f"Refunded {done}." if kind == "refund" else f"Added {done} of store credit."
    return Result("ok", text, entry.get("instructions"))


def provider_result(entry: dict[str, Any], done: str) -> Result:
    """A refund a provider carries out: what the provider made of it, told as it is."""
    provider = str(entry["provider"]).title()
    if entry["provider_status"] == "failed":
        return Result("error", f"{provider} did not refund {done}.", entry["instructions"])
    if entry["provider_refund_id"] is None:
        return Result("pending", f"Refund of {done} sent to {provider}, no answer yet.",
                      entry["instructions"])
    return Result("ok", f"Refunded {done} through {provider}.")


async def give(request: Request, session: Session, kind: Kind, target: int, form_name: str,
               amount_in: str, typed: dict[str, str], extra: dict[str, Any]) -> Answer:
    key = str((await request.form()).get("key", ""))
    try:
        amount = parse_amount(typed["amount"], amount_in)
    except MoneyError as error:
        return Answer(form_name, Result("error", str(error)), 422, typed)
    if not typed["reason"]:
        what = "refund" if kind == "refund" else "credit"
        return Answer(form_name, Result("error", f"Give a reason for the {what}."), 422, typed)
    if not 1 <= len(key) <= 255:  # a form from an older page: its next rendering has one
        return Answer(form_name, Result("error", "Send the form again."), 422, typed)
    conversation_id = int(request.path_params["conversation_id"])
    try:
        fields = checked({"amount_cents": amount, "reason": typed["reason"],
                          "conversation_id": conversation_id, **extra},
                         REFUND if kind == "refund" else CREDIT)
        outcome = await commerce(request).give(kind, session.agent, f"session:{session.id}",
                                               target, key, fields)
    except Refused as error:
        return refused(form_name, error, typed)
    return Answer(form_name, outcome_result(kind, outcome.status, outcome.body))


async def refund(request: Request, session: Session) -> Response:
    conversation_id = int(request.path_params["conversation_id"])
    order_id = int(request.path_params["order_id"])
    typed = typed_in(await request.form(), "amount", "reason")
    customer_id = int(request.path_params["customer_id"])
    try:  # the amount is read in the order's currency
        orders = (await commerce(request).customer(customer_id))["orders"]
    except Refused:
        orders = []
    order = next((o for o in orders if o["id"] == order_id), None)
    if order is None:
        answer = Answer(f"refund-{order_id}", Result("error", "No such order."), 404, typed)
    else:
        answer = await give(request, session, "refund", order_id, f"refund-{order_id}",
                            order["currency"], typed, {})
    return await body(request, session, conversation_id, answer, customer_id)


async def credit(request: Request, session: Session) -> Response:
    conversation_id = int(request.path_params["conversation_id"])
    customer_id = int(request.path_params["customer_id"])
    typed = typed_in(await request.form(), "amount", "currency", "expires", "reason")
    try:
        code = currency(typed["currency"])
        expires = (f"{date.fromisoformat(typed['expires']).isoformat()}T23:59:59Z"
                   if typed["expires"] else None)
    except MoneyError:
        answer = Answer("credit", Result("error", "The currency is a three-letter code like "
                                         "USD."), 422, typed)
    except ValueError:
        answer = Answer("credit", Result("error", "The expiry is not a date."), 422, typed)
    else:
        answer = await give(request, session, "credit", customer_id, "credit", code, typed,
                            {"currency": code, "expires_at": expires})
    return await body(request, session, conversation_id, answer, customer_id)


async def verify(request: Request, session: Session) -> Response:
    conversation_id = int(request.path_params["conversation_id"])
    typed = typed_in(await request.form(), "order", "email")
    headers: dict[str, str] = {}
    customer_id = None
    if not typed["order"]:
        answer = Answer("verify", Result("error", "Enter the order number."), 422, typed)
    else:
        try:
            email = checked_email(typed["email"])
        except ValueError:
            return await body(request, session, conversation_id, Answer(
                "verify", Result("error", "Enter the email the order was bought with."), 422,
                typed))
        service = commerce(request)
        try:
            service.check_in_charge(conversation_id, session.agent)
            outcome = await service.verify(conversation_id, typed["order"], email,
                                           session.agent)
        except Refused as error:
            answer = refused("verify", error, typed)
            if error.code == "no_match":
                answer.result.text = "No order with that number was bought with that email."
        else:
            customer_id = outcome.body["customer_id"]
            answer = Answer("verify", Result("ok", "Purchase verified."))
            headers["HX-Trigger-After-Swap"] = changed(conversation_id)
    response = await body(request, session, conversation_id, answer, customer_id)
    response.headers.update(headers)
    return response


async def approvals(request: Request, session: Session, decision: Result | None = None,
                    status: int = 200) -> Response:
    """Approvals waiting (supervisors and admins): Approve and Reject, or Withdraw on their
    own request (nobody approves their own)."""
    waiting = await commerce(request).approvals("pending", None) if session.agent.can_oversee \
        else []
    return render(request, APPROVALS, session, status, approvals=waiting, decision=decision,
                  **shown(request))


async def list_approvals(request: Request, session: Session) -> Response:
    return await approvals(request, session)


def described(approval: dict[str, Any]) -> str:
    what = "Refund" if approval["kind"] == "refund" else "Store credit"
    order = approval.get("order_external_id")
    done = money(approval["amount_cents"], approval["currency"])
    return f"{what} of {done}" + (f" on order {order}" if order else "")


async def decide(request: Request, session: Session) -> Response:
    approval_id = int(request.path_params["approval_id"])
    if request.path_params["decision"] not in ("approve", "reject"):
        return Response(status_code=404)
    approve = request.path_params["decision"] == "approve"
    try:
        outcome = await commerce(request).decide(approval_id, approve, session.agent, None)
    except Refused as error:
        return await approvals(request, session, Result("error", sentence(error.message)),
                               error.status)
    asked = outcome.body["approval"]
    if approve:
        entry = outcome.body.get("refund") or outcome.body.get("credit") or {}
        result = Result("ok", f"Approved: {described(asked)} is done.",
                        entry.get("instructions"))
    else:
        own = asked["requested_by"]["id"] == session.agent.id
        result = Result("ok", f"{'Withdrawn' if own else 'Rejected'}: {described(asked)}.")
    return await approvals(request, session, result)


PARTS = "/console/parts/customer"
routes: list[BaseRoute] = [
    Route(f"{PARTS}/approvals", console_view(list_approvals)),
    Route(PARTS + "/approvals/{approval_id:int}/{decision:str}", console_view(decide),
          methods=["POST"]),
    Route(PARTS + "/{conversation_id:int}", console_view(panel)),
    Route(PARTS + "/{conversation_id:int}/verify", console_view(verify), methods=["POST"]),
    Route(PARTS + "/{conversation_id:int}/customers/{customer_id:int}/orders/{order_id:int}"
          "/refund", console_view(refund), methods=["POST"]),
    Route(PARTS + "/{conversation_id:int}/customers/{customer_id:int}/credit",
          console_view(credit), methods=["POST"]),
]
