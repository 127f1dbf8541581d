"""The console's server-rendered parts: each view answers a page or an htmx request with a
Jinja2 partial from `console/partials/`, rendered from what the services say.

A maintainer changes what the console shows by editing one template and one view here;
`console/assets/` keeps only what needs the live socket or the keyboard."""

from __future__ import annotations

from starlette.routing import BaseRoute

from chatserver.web.console_views import admin, conversation, customer, pane, sidebar


def routes() -> list[BaseRoute]:
    return [*sidebar.routes, *conversation.routes, *pane.routes, *customer.routes, *admin.routes]
