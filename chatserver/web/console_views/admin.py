"""The admin page and its sections: agents, canned responses, widget settings, allowed
origins, API tokens, webhooks, payment providers (read only), customer data (export and erase).

Each section is a partial (`console/partials/admin/<section>.html`) and its own htmx
target: a form in it sends a change here and gets the section back, re-rendered from what is
stored, with a notice of what changed, or with the refusal in place (and the refusal's
status, which htmx swaps too). The acts are the REST API's (`chatserver.web.admin_acts`)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chatserver.domain import frames, webhooks, widget_settings
from chatserver.domain.errors import Refused
from chatserver.domain.models import ROLES
from chatserver.service.privacy import MAX_REASON_CHARS
from chatserver.service.services import Services
from chatserver.web import admin_acts
from chatserver.web.auth import Session
from chatserver.web.console_views.base import View, console_view, render
from chatserver.web.console_views.wording import plural, sentence
from chatserver.web.http import ApiError, checked, path_id
from chatserver.web.services import services

PARTS = "/console/parts/admin"
Facts = Callable[[Services], Awaitable[dict[str, Any]]]
Act = Callable[[], Awaitable[dict[str, Any]]]  # the change; what the section adds to show it


async def agents_facts(found: Services) -> dict[str, Any]:
    return {"agents": await found.team.accounts(), "roles": ROLES, "limits": admin_acts.LIMITS}


async def canned_facts(found: Services) -> dict[str, Any]:
    return {"canned": await found.console.canned(), "limits": admin_acts.LIMITS}


async def widget_facts(found: Services) -> dict[str, Any]:
    return {"widget": found.site.widget,
            "lengths": widget_settings.LENGTHS, "prechat": widget_settings.PRECHAT}


async def origins_facts(found: Services) -> dict[str, Any]:
    return {"origins": found.site.extra_origins,
            "env_origins": list(found.site.environment_origins())}


async def tokens_facts(found: Services) -> dict[str, Any]:
    return {"tokens": await found.team.tokens(None), "agents": await found.team.accounts(),
            "limits": admin_acts.LIMITS}


async def webhooks_facts(found: Services) -> dict[str, Any]:
    return {"endpoints": await found.webhooks.endpoints(), "events": webhooks.EVENTS,
            "url_max": webhooks.MAX_URL}


async def payments_facts(found: Services) -> dict[str, Any]:
    return {"stripe": found.stripe.turned_on()}


async def privacy_facts(found: Services) -> dict[str, Any]:
    return {"customers": None, "reason_max": MAX_REASON_CHARS}  # none looked up yet


SECTIONS: dict[str, Facts] = {"agents": agents_facts, "canned": canned_facts,
                              "widget": widget_facts, "origins": origins_facts,
                              "tokens": tokens_facts, "webhooks": webhooks_facts,
                              "payments": payments_facts,
                              "privacy": privacy_facts}
SHOWN: dict[str, Any] = {"notice": None, "error": None, "failed": None, "typed": {},
                         "secret": None, "focus_heading": False, "agents_changed": False}


def admins_only(view: View) -> Callable[[Request], Awaitable[Response]]:
    """`view` for admins; anyone else is refused (403) where they asked."""
    async def admin_view(request: Request, session: Session) -> Response:
        if session.agent.role != "admin":
            return render(request, "partials/admin/refused.html", session, 403)
        return await view(request, session)
    admin_view.__name__ = view.__name__
    return console_view(admin_view)


async def admin_page(request: Request, session: Session) -> Response:
    if session.agent.role != "admin":
        return render(request, "admin.html", session, 403, forbidden=True)
    found, facts = services(request), dict(SHOWN)
    for section_facts in SECTIONS.values():
        facts.update(await section_facts(found))
    return render(request, "admin.html", session, sections=list(SECTIONS), **facts)


async def section(request: Request, session: Session, name: str, status: int = 200,
                  **shown: Any) -> Response:
    facts = await SECTIONS[name](services(request))
    response = render(request, f"partials/admin/{name}.html", session, status,
                      **{**SHOWN, **facts, **shown})
    response.headers["Cache-Control"] = "no-store"  # a new token's secret, shown once
    return response


async def acted(request: Request, session: Session, name: str, act: Act, where: str,
                typed: dict[str, Any] | None = None) -> Response:
    """The section after `act`, or with the refusal shown at the form `where`, as typed."""
    try:
        shown = await act()
    except Refused as refusal:
        return await section(request, session, name, refusal.status, failed=where,
                             error=sentence(refusal.message), typed=typed or {})
    return await section(request, session, name, **shown)


async def form_of(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}


WHOLE = re.compile(r"[0-9]{1,9}")


def typed_fields(form: dict[str, str], numbers: tuple[str, ...] = (),
                 flags: tuple[str, ...] = ()) -> dict[str, Any]:
    """A form's fields as the API's checks take them: trimmed text (but a password), whole
    numbers and true/false where asked; an empty field is left out, as the API's body would."""
    fields: dict[str, Any] = {}
    for name, value in form.items():
        text = value if name == "password" else value.strip()
        if not text:
            continue
        if name in numbers:
            fields[name] = int(text) if WHOLE.fullmatch(text) else text  # the check says why
        elif name in flags:
            fields[name] = text == "true"
        else:
            fields[name] = text
    return fields


# --- agents ------------------------------------------------------------------------------
@admins_only
async def add_agent(request: Request, session: Session) -> Response:
    form = await form_of(request)

    async def act() -> dict[str, Any]:
        body = checked(typed_fields(form, numbers=("capacity",)), admin_acts.NEW_AGENT, "agent")
        await admin_acts.add_agent(services(request), session.agent, body)
        return {"notice": "Agent added.", "agents_changed": True}
    return await acted(request, session, "agents", act, "add",
                       {k: v for k, v in form.items() if k != "password"})


@admins_only
async def change_agent(request: Request, session: Session) -> Response:
    form = await form_of(request)

    async def act() -> dict[str, Any]:
        agent_id = path_id(request, "agent")
        body = checked(typed_fields(form, numbers=("capacity",), flags=("disabled",)),
                       admin_acts.AGENT_CHANGES, "agent")
        changed = await admin_acts.change_agent(services(request), session.agent, agent_id,
                                                body, session.id)
        return {"notice": agent_notice(changed["name"], body["disabled"]),
                "agents_changed": True}
    return await acted(request, session, "agents", act, "list")


def agent_notice(name: str, disabled: bool | None) -> str:
    if disabled is None:
        return f"Saved {name}."
    return f"{name} is disabled and signed out." if disabled else f"{name} can sign in again."


# --- canned responses --------------------------------------------------------------------
@admins_only
async def add_canned(request: Request, session: Session) -> Response:
    form = await form_of(request)

    async def act() -> dict[str, Any]:
        body = checked(typed_fields(form), admin_acts.CANNED, "canned response")
        await admin_acts.add_canned(services(request), body)
        return {"notice": "Canned response added."}
    return await acted(request, session, "canned", act, "add", form)


@admins_only
async def delete_canned(request: Request, session: Session) -> Response:
    async def act() -> dict[str, Any]:
        console = services(request).console
        canned_id = path_id(request, "canned response")
        shortcut = next((c["shortcut"] for c in await console.canned() if c["id"] == canned_id),
                        None)
        await console.delete_canned(canned_id)
        return {"notice": f"/{shortcut} deleted.", "focus_heading": True}
    return await acted(request, session, "canned", act, "list")


# --- the widget and where it may be embedded ---------------------------------------------
@admins_only
async def change_widget(request: Request, session: Session) -> Response:
    form = await form_of(request)

    async def act() -> dict[str, Any]:
        await admin_acts.change_widget(services(request), form)
        return {"notice": "Widget settings saved."}
    return await acted(request, session, "widget", act, "form", form)


@admins_only
async def change_origins(request: Request, session: Session) -> Response:
    form = await form_of(request)

    async def act() -> dict[str, Any]:
        try:
            origins = admin_acts.origins_list(form.get("origins", "").splitlines())
        except ValueError as reason:
            raise ApiError(422, "invalid", f"the allowed origins {reason}") from None
        await services(request).site.set_allowed_origins(origins)
        return {"notice": "Allowed origins saved."}
    return await acted(request, session, "origins", act, "form", form)


# --- API tokens --------------------------------------------------------------------------
@admins_only
async def create_token(request: Request, session: Session) -> Response:
    form = await form_of(request)
    integration = form.get("integration") == "true"

    async def act() -> dict[str, Any]:
        body = checked(typed_fields(form, numbers=("agent_id",), flags=("integration",)),
                       admin_acts.NEW_TOKEN, "token")
        made = await admin_acts.create_token(services(request), session.agent, body)
        return {"notice": "Integration token created." if integration else "Token created.",
                "secret": made["token"]}
    return await acted(request, session, "tokens", act,
                       "integration-token" if integration else "agent-token")


@admins_only
async def revoke_token(request: Request, session: Session) -> Response:
    async def act() -> dict[str, Any]:
        await services(request).team.revoke_token(path_id(request, "token"), None,
                                                  session.agent.id)
        return {"notice": "Token revoked.", "focus_heading": True}
    return await acted(request, session, "tokens", act, "list")


# --- webhooks ----------------------------------------------------------------------------
@admins_only
async def add_webhook_endpoint(request: Request, session: Session) -> Response:
    form = await request.form()
    typed = {"url": str(form.get("url") or ""),
             "events": [str(name) for name in form.getlist("events")]}

    async def act() -> dict[str, Any]:
        body = checked(typed, admin_acts.WEBHOOK_ENDPOINT, "webhook endpoint")
        made = await admin_acts.add_webhook_endpoint(services(request), body)
        return {"notice": "Endpoint added.", "secret": made["secret"]}
    return await acted(request, session, "webhooks", act, "add", typed)


@admins_only
async def delete_webhook_endpoint(request: Request, session: Session) -> Response:
    async def act() -> dict[str, Any]:
        await services(request).webhooks.delete_endpoint(path_id(request, "webhook endpoint"))
        return {"notice": "Endpoint deleted.", "focus_heading": True}
    return await acted(request, session, "webhooks", act, "list")


@admins_only
async def resend_delivery(request: Request, session: Session) -> Response:
    async def act() -> dict[str, Any]:
        resent = await services(request).webhooks.resend(path_id(request, "webhook delivery"))
        return {"notice": f"{resent['webhook_id']} will be sent again."}
    return await acted(request, session, "webhooks", act, "list")


# --- a customer's data: found by email, exported (the REST API's link), erased -----------
@admins_only
async def find_customers(request: Request, session: Session) -> Response:
    form = await form_of(request)

    async def act() -> dict[str, Any]:
        email = checked(typed_fields(form), {"email": (frames.email, True, None)},
                        "search")["email"]
        return {"customers": await services(request).commerce.customers_by_email(email)}
    return await acted(request, session, "privacy", act, "find", form)


@admins_only
async def erase_customer(request: Request, session: Session) -> Response:
    form = await form_of(request)

    async def act() -> dict[str, Any]:
        done = await services(request).privacy.erase(path_id(request, "customer"),
                                                     session.agent, form.get("reason", ""))
        erased = done["erased"]
        return {"notice": f"Customer {erased['customer_id']} erased, with "
                          f"{plural(len(erased['conversations']), 'conversation')}."}
    return await acted(request, session, "privacy", act, "erase")


@admins_only
async def show_section(request: Request, session: Session) -> Response:
    name = request.path_params["section"]
    if name not in SECTIONS:
        return Response("No such section.", 404, media_type="text/plain")
    return await section(request, session, name, focus_heading="focus" in request.query_params)


routes: list[BaseRoute] = [
    Route("/console/admin", console_view(admin_page)),
    Route(f"{PARTS}/agents", add_agent, methods=["POST"]),
    Route(f"{PARTS}/agents/{{id}}", change_agent, methods=["PUT"]),
    Route(f"{PARTS}/canned", add_canned, methods=["POST"]),
    Route(f"{PARTS}/canned/{{id}}", delete_canned, methods=["DELETE"]),
    Route(f"{PARTS}/widget", change_widget, methods=["PUT"]),
    Route(f"{PARTS}/origins", change_origins, methods=["PUT"]),
    Route(f"{PARTS}/tokens", create_token, methods=["POST"]),
    Route(f"{PARTS}/tokens/{{id}}", revoke_token, methods=["DELETE"]),
    Route(f"{PARTS}/webhooks", add_webhook_endpoint, methods=["POST"]),
    Route(f"{PARTS}/webhooks/{{id}}", delete_webhook_endpoint, methods=["DELETE"]),
    Route(f"{PARTS}/webhooks/deliveries/{{id}}/resend", resend_delivery, methods=["POST"]),
    Route(f"{PARTS}/privacy/find", find_customers, methods=["POST"]),
    Route(f"{PARTS}/privacy/{{id}}/erase", erase_customer, methods=["POST"]),
    Route(f"{PARTS}/{{section}}", show_section, methods=["GET"]),
]
