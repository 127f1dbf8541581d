"""The agent console's pages: sign in, sign out, the console itself (live over /ws/agent)."""

from __future__ import annotations

import asyncio
import hmac
import math
import re
import secrets
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from chatserver.assets import asset_dir
from chatserver.domain.clock import now
from chatserver.web.auth import (
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    Session,
    Sessions,
    check_password,
)
from chatserver.web.services import services

LOGIN_CSRF_COOKIE = "chatserver_login_csrf"
CONSOLE_HOME = "/console"
# Where `?next=` may lead after sign-in: a console page on this site, with its query. No
# scheme, host, `//`, backslash or dot segment, so no open redirect.
CONSOLE_PAGE = re.compile(r"/console(/[\w-]+)*/?(\?[\w\-.~%&=+]*)?", re.ASCII)
# The console runs no inline script or style: anything injected into a page stays inert.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def sessions_of(request: Request) -> Sessions:
    return request.app.state.sessions


async def signed_in(request: Request) -> Session | None:
    return await sessions_of(request).find(request.cookies.get(SESSION_COOKIE))


def csrf_ok(expected: str | None, given: object) -> bool:
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected or "", given)


async def console_page(request: Request) -> Response:
    session = await signed_in(request)
    if session is None:
        return RedirectResponse(f"/console/login?next={quote(request.url.path)}", 303)
    return request.app.state.templates.TemplateResponse(
        request, "console.html", {"agent": session.agent, "csrf": session.csrf},
        headers=SECURITY_HEADERS)


def after_sign_in(asked: object) -> str:
    """The page to open once signed in: the one asked for if it is a console page, else the
    console itself."""
    return asked if isinstance(asked, str) and CONSOLE_PAGE.fullmatch(asked) else CONSOLE_HOME


async def login_page(request: Request, error: str | None = None, status: int = 200,
                     next_page: str = CONSOLE_HOME) -> Response:
    token = secrets.token_urlsafe(24)
    response = request.app.state.templates.TemplateResponse(
        request, "login.html", {"csrf": token, "error": error, "next": next_page},
        status_code=status, headers=SECURITY_HEADERS)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/console")
    return response


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def too_many_tries(request: Request, wait: float, next_page: str) -> Response:
    """The sign-in page, refusing for now (see chatserver.domain.throttle)."""
    seconds = math.ceil(wait)
    response = await login_page(request, "Too many failed sign-ins. Please wait "
                                f"{in_words(seconds)} and try again.", 429, next_page)
    response.headers["Retry-After"] = str(seconds)
    return response


def in_words(seconds: int) -> str:
    if seconds >= 120:
        return f"{math.ceil(seconds / 60)} minutes"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


async def login(request: Request) -> Response:
    if request.method == "GET":
        return await login_page(request, next_page=after_sign_in(request.query_params.get("next")))
    form = await request.form()
    next_page = after_sign_in(form.get("next"))
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf")):
        return await login_page(request, "Your sign-in form expired; please try again.", 403,
                                next_page)
    email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
    throttle, address = request.app.state.sign_ins, client_address(request)
    if (wait := await throttle.attempt(email, address, now())) > 0:
        return await too_many_tries(request, wait, next_page)
    found = await services(request).team.login(email)
    agent, password_hash = found if found and not found[0].disabled else (None, None)
    # checked either way, on a worker thread: argon2 takes a tenth of a second of CPU that
    # would otherwise stall every socket of the server
    if not await asyncio.to_thread(check_password, password_hash, password) or agent is None:
        return await login_page(request, "That email and password do not match.", 401, next_page)
    await throttle.succeeded(email, address, now())
    response = RedirectResponse(next_page, status_code=303)
    cookie = await sessions_of(request).start(agent)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_MAX_AGE, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


async def logout(request: Request) -> Response:
    session = await signed_in(request)
    form = await request.form()
    if session is not None:
        if not csrf_ok(session.csrf, form.get("csrf")):
            return Response("Missing or wrong CSRF token.", status_code=403)
        await services(request).team.sign_out(session.agent.id, session.id)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def routes() -> list[Route | Mount]:
    return [
        Route("/console", console_page),
        Route("/console/login", login, methods=["GET", "POST"]),
        Route("/console/logout", logout, methods=["POST"]),
        Mount("/console/assets", StaticFiles(directory=asset_dir("console") / "assets"),
              name="console-assets"),
    ]
