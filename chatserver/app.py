"""create_app(settings) -> the Starlette application; its lifespan opens the store and the bus."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import WebSocketRoute
from starlette.templating import Jinja2Templates

from chatserver.assets import asset_dir
from chatserver.bus import open_bus
from chatserver.config import Settings
from chatserver.service.chat import ChatService
from chatserver.service.commerce import Commerce
from chatserver.service.supervision import Supervision
from chatserver.store import open_store
from chatserver.web import api, commerce_api, console, console_api, pages, settings_api
from chatserver.web.agent_socket import agent_socket
from chatserver.web.auth import Sessions
from chatserver.web.console_pages import routes as console_pages_routes
from chatserver.web.visitor_socket import visitor_socket


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = await open_store(settings.database_url)
        bus = open_bus(settings.bus_url)
        app.state.chat = chat = ChatService(settings, store, bus)
        app.state.commerce = Commerce(settings, chat)
        app.state.supervision = supervision = Supervision(chat, settings.unanswered_alert)
        try:
            secret = settings.secret_key or await store.secret("secret_key")
            app.state.sessions = Sessions(secret, store)
            await chat.start()
            supervision.start()
            yield
        finally:
            await supervision.stop()
            await chat.stop()
            await bus.close()
            await store.close()

    app = Starlette(
        routes=[
            *api.routes,
            *commerce_api.routes,
            *settings_api.routes,
            *console_api.routes,
            *console.routes(),
            *console_pages_routes(),
            *pages.routes(),
            WebSocketRoute("/ws/visitor", visitor_socket),
            WebSocketRoute("/ws/agent", agent_socket),
        ],
        lifespan=lifespan,
        # the widget is 12 KB compressed, 35 KB not; JSON lists shrink as well
        middleware=[Middleware(GZipMiddleware, minimum_size=1000)],
    )
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=[asset_dir("console"), asset_dir("widget")])
    return app
