"""Running the application under uvicorn, tuned for many small WebSocket frames."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from collections.abc import Iterator
from typing import Any

import uvicorn

from chatserver.app import create_app
from chatserver.config import Settings
from chatserver.web.header_timeout import with_header_timeout
from chatserver.web.websocket_protocol import WebSocketProtocol


class _Secondary(uvicorn.Server):
    """A second server in the same process leaves the signals to the main one."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def uvicorn_config(app: Any, settings: Settings, port: int | None = None) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=settings.host, port=settings.port if port is None else port,
        loop="uvloop", http=with_header_timeout(settings.header_timeout),
        ws=WebSocketProtocol,  # the HTTP protocol hands handshakes to it (HandingOverProtocol)
        ws_max_size=settings.max_frame_bytes,  # larger frames: close 1009
        lifespan="on", log_level="info", server_header=False,
        # behind nginx, the visitor's own address (X-Forwarded-For) counts for the limits
        proxy_headers=True, forwarded_allow_ips=list(settings.forwarded_allow_ips),
    )


def tune_interpreter() -> None:
    """Everything alive after start-up stays alive: keep it out of every collection. Collect
    young objects rarely: a collection walks every message still waiting for its commit
    (30 ms with a thousand in flight), and at 10,000 new objects one ran every few commit
    batches, taking up to 16% of the server's time. Hand the GIL over every 0.5 ms, not 5:
    the SQLite writer thread needs it back after each statement and fsync."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 5, 10)
    sys.setswitchinterval(0.0005)


async def serve(settings: Settings, shop_port: int | None = None) -> None:
    """Serve until interrupted; with `shop_port`, also the demo shop from that port.

    On SIGTERM uvicorn stops listening, closes every socket with 1012 (service restart: the
    clients reconnect to another process and resume by seq), then the lifespan closes the
    store, which finishes its writes (tests/test_sigterm.py)."""
    tune_interpreter()
    if shop_port is None:
        await uvicorn.Server(uvicorn_config(create_app(settings), settings)).serve()
        return
    from chatserver.demo import shop_app

    server_origin = f"http://{settings.host}:{settings.port}"
    shop_origins = {f"http://{h}:{shop_port}" for h in (settings.host, "localhost", "127.0.0.1")}
    allowed = tuple(sorted(set(settings.allowed_origins or ()) | shop_origins))
    settings = settings.with_(allowed_origins=allowed)
    main = uvicorn.Server(uvicorn_config(create_app(settings), settings))
    shop = _Secondary(uvicorn_config(shop_app(server_origin), settings, port=shop_port))
    shop_task = asyncio.create_task(shop.serve())
    try:
        await main.serve()
    finally:
        shop.should_exit = True
        await shop_task
