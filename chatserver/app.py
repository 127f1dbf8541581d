"""create_app(settings) -> the Starlette application; its lifespan opens the store and the bus."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import ClassVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.templating import Jinja2Templates
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from chatserver.assets import asset_dir
from chatserver.bus import open_bus
from chatserver.config import Settings
from chatserver.online import open_visitors_online
from chatserver.ratelimit import open_rate_limits
from chatserver.service.services import Services
from chatserver.signins import open_sign_ins
from chatserver.store import StorageError, open_store
from chatserver.web import (
    api,
    attachments_api,
    commerce_api,
    console,
    console_api,
    openapi,
    pages,
    privacy_api,
    settings_api,
    shop_webhooks,
    visitor_api,
    webhooks_api,
)
from chatserver.web.agent_socket import agent_socket
from chatserver.web.auth import Sessions
from chatserver.web.body_limit import BodyLimit
from chatserver.web.console_pages import routes as console_pages_routes
from chatserver.web.console_views import routes as console_views_routes
from chatserver.web.headers import no_sniffing
from chatserver.web.http import http_error, storage_error
from chatserver.web.visitor_socket import visitor_socket


class ChatApp(Starlette):
    """Starlette, with the chat sockets served ahead of its middleware: compression, error
    pages and exception handlers do nothing for a socket, yet each of 10,000 idle sockets
    kept their frames alive (5 KiB) and each frame sent went through them."""

    sockets: ClassVar[dict[str, Callable[[WebSocket], Awaitable[None]]]] = {
        "/ws/visitor": visitor_socket, "/ws/agent": agent_socket}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.sockets.get(scope["path"]) if scope["type"] == "websocket" else None
        if endpoint is None:  # nosniff added outside Starlette's stack: its own 500s get it too
            await super().__call__(scope, receive,
                                   no_sniffing(send) if scope["type"] == "http" else send)
            return
        scope["app"] = self
        await endpoint(WebSocket(scope, receive, send))


def create_app(settings: Settings) -> ChatApp:
    @contextlib.asynccontextmanager
    async def lifespan(app: ChatApp) -> AsyncIterator[None]:
        store = await open_store(settings.database_url, settings.attachments_dir)
        bus = open_bus(settings.bus_url)
        limits = open_rate_limits(settings.bus_url)  # shared where the news are
        online = open_visitors_online(settings.bus_url)  # likewise
        app.state.sign_ins = sign_ins = open_sign_ins(settings.bus_url)  # likewise
        app.state.services = services = Services.of(settings, store, bus, limits, online)
        try:
            secret = settings.secret_key or await store.secret("secret_key")
            app.state.sessions = Sessions(secret, services.team)
            await services.start()
            yield
        finally:
            await services.stop()
            await sign_ins.close()
            await online.close()
            await limits.close()
            await bus.close()
            await store.close()

    app = ChatApp(
        routes=[
            *api.routes,
            *commerce_api.routes,
            *shop_webhooks.routes,
            *settings_api.routes,
            *console_api.routes,
            *webhooks_api.routes,
            *privacy_api.routes,
            *attachments_api.routes,
            *visitor_api.routes,
            *openapi.routes,
            *console.routes(),
            *console_pages_routes(),
            *console_views_routes(),
            *pages.routes(),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, StorageError: storage_error},
        # the widget is 12 KB compressed, 35 KB not; JSON lists shrink as well
        middleware=[Middleware(BodyLimit,
                               paths=attachments_api.upload_limit(settings.max_upload_bytes)),
                    Middleware(GZipMiddleware, minimum_size=1000)],
    )
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=[asset_dir("console"), asset_dir("widget")])
    return app
