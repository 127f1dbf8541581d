"""`chatserver demo`: a demo agent with a fresh password, and a sample shop page."""

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

DEMO_AGENT = "demo@example.com"


async def seed(store: Store) -> tuple[str, str]:
    """Create the demo agent (or give them a new password); returns their login."""
    password = secrets.token_urlsafe(9)
    found = await store.agent_login(DEMO_AGENT)
    if found is None:
        agent = await store.add_agent(DEMO_AGENT, "Dana", "supervisor", 3,
                                      hash_password(password))
        await store.set_presence(agent.id, "available")
    else:
        await store.set_password(found[0].id, hash_password(password))
    return DEMO_AGENT, password


def shop_app(server_origin: str) -> Starlette:
    """The demo shop on its own origin, embedding the widget from the chat server."""
    templates = Jinja2Templates(directory=asset_dir("widget"))

    async def demo(request: Request) -> Response:
        return templates.TemplateResponse(request, "demo.html",
                                          {"widget_src": f"{server_origin}/widget.js"})

    async def home(request: Request) -> Response:
        return RedirectResponse("/demo", status_code=303)

    return Starlette(routes=[Route("/", home), Route("/demo", demo)])
