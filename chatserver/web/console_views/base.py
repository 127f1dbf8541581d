"""What every console view shares: the signed-in agent, the CSRF check on changes, and
rendering a template with the strict security headers.

A view is `async def view(request, session) -> Response`, wrapped by `console_view`. An
htmx request from a page whose session ended gets `HX-Redirect` to the sign-in page (htmx
follows it); a plain request is redirected there."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from chatserver.web.auth import Session
from chatserver.web.console import SECURITY_HEADERS, csrf_ok, signed_in

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
View = Callable[[Request, Session], Awaitable[Response]]


def render(request: Request, template: str, session: Session, status: int = 200,
           **context: Any) -> Response:
    """`template` rendered for the signed-in agent (autoescaped: whatever a field holds is
    shown as text)."""
    return request.app.state.templates.TemplateResponse(
        request, template, {"agent": session.agent, "csrf": session.csrf, **context},
        status_code=status, headers=SECURITY_HEADERS)


def changed(conversation_id: int) -> str:
    """An HX-Trigger header's value saying a chat changed (a customer found, a follow-up
    done): the page reads its pane again if it shows that chat (live.js)."""
    return json.dumps({"console:changed": {"conversationId": conversation_id}})


def to_login(request: Request) -> Response:
    """The sign-in page, coming back here (for htmx: the page that asked) once signed in."""
    if request.headers.get("hx-request") == "true":
        page = request.headers.get("hx-current-url", "/console")
        target = "/console/login?next=" + quote(_path_of(page))
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(f"/console/login?next={quote(request.url.path)}", 303)


def _path_of(url: str) -> str:
    """The path of the page htmx says it is on (the sign-in page checks it again)."""
    start = url.find("/console")
    return url[start:] if start >= 0 else "/console"


def console_view(view: View) -> Callable[[Request], Awaitable[Response]]:
    """`view` for signed-in agents only; a change (POST, PUT, DELETE) must carry the
    session's CSRF token in `X-CSRF-Token` (htmx sends it, from the page's `hx-headers`) or
    in a form field `csrf` (a form posted without script)."""
    async def endpoint(request: Request) -> Response:
        session = await signed_in(request)
        if session is None:
            return to_login(request)
        if request.method not in SAFE_METHODS:
            given: object = request.headers.get("x-csrf-token")
            if given is None and request.headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"):
                given = (await request.form()).get("csrf")
            if not csrf_ok(session.csrf, given):
                return Response("Your session's form token is missing or wrong; reload the "
                                "page.", 403, media_type="text/plain")
        return await view(request, session)
    endpoint.__name__ = view.__name__
    endpoint.__doc__ = view.__doc__
    return endpoint
