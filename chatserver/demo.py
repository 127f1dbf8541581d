"""`chatserver demo`: a demo agent and a demo admin with fresh passwords, a few orders to
verify and refund, canned responses, and a sample shop page."""

from __future__ import annotations

import secrets

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from chatserver.assets import asset_dir
from chatserver.store import Store
from chatserver.web.auth import hash_password
from chatserver.web.pages import widget_script

# (who, email, name, role): an agent to chat as, a supervisor so that the reports open too;
# and an admin, for the admin page
DEMO_STAFF = (("agent", "demo@example.com", "Dana", "supervisor"),
              ("admin", "admin@example.com", "Alex", "admin"))
ORDERS = [  # the shop's orders, so that a purchase can be verified and refunded in the demo
    {"external_id": "1042", "email": "maya@example.com", "name": "Maya Lin",
     "product": "Course Pro", "amount_cents": 14900, "currency": "USD", "status": "paid"},
    {"external_id": "1043", "email": "maya@example.com", "name": "Maya Lin",
     "product": "Coaching hour", "amount_cents": 9000, "currency": "USD", "status": "paid"},
    {"external_id": "1044", "email": "li@example.com", "name": "Li Wei",
     "product": "Starter Pack", "amount_cents": 3900, "currency": "USD", "status": "paid"},
]
CANNED = {
    "refund-policy": "You can have a full refund within 30 days of purchase, no questions "
                     "asked. After that we look at each case.",
    "thanks": "Thank you for your patience! Is there anything else I can help with?",
}


async def seed(store: Store) -> list[tuple[str, str, str]]:
    """Create the demo data; returns each demo login (who, email, new password)."""
    logins = [(who, email, await _login(store, email, name, role))
              for who, email, name, role in DEMO_STAFF]
    for order in ORDERS:
        await store.upsert_order(order)
    kept = {canned["shortcut"] for canned in await store.canned()}
    for shortcut, text in CANNED.items():
        if shortcut not in kept:
            await store.add_canned(shortcut, text)
    return logins


async def _login(store: Store, email: str, name: str, role: str) -> str:
    """The demo account (made if new, available to take chats unless an admin) with a new
    password each time; returns the password."""
    password = secrets.token_urlsafe(9)
    found = await store.agent_login(email)
    if found is not None:
        await store.set_password(found[0].id, hash_password(password))
        return password
    agent = await store.add_agent(email, name, role, 3, hash_password(password))
    if role != "admin":
        await store.set_presence(agent.id, "available")
    return password


def shop_app(server_origin: str) -> Starlette:
    """The demo shop on its own origin, embedding the widget from the chat server."""
    templates = Jinja2Templates(directory=asset_dir("widget"))

    async def demo(request: Request) -> Response:
        return templates.TemplateResponse(request, "demo.html",
                                          {"widget_src": server_origin + widget_script().url})

    async def home(request: Request) -> Response:
        return RedirectResponse("/demo", status_code=303)

    return Starlette(routes=[Route("/", home), Route("/demo", demo)])
