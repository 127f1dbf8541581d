"""uvicorn's HTTP protocol, closing a connection whose request headers do not arrive in time.

uvicorn times out only an idle kept-alive connection: one that sends half a request line,
or nothing at all, stays open for good, and 300 of them (slowloris) held 300 connections.
Here every request's headers, from the connection's start or the request's first byte,
have `header_timeout` seconds to be complete.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from chatserver.web.websocket_protocol import HandingOverProtocol

REQUEST_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                   b"content-length: 33\r\nconnection: close\r\n\r\n"
                   b"the request headers came too late")


class HeaderTimeoutProtocol(HandingOverProtocol):
    header_timeout: ClassVar[float] = 10.0  # 0: no limit
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_headers()

    def on_headers_complete(self) -> None:
        self._stop_waiting()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        if self.header_timeout and self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._too_late)

    def _stop_waiting(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # else a response is on its way
            self.transport.write(REQUEST_TIMEOUT)
        self.transport.close()


def with_header_timeout(seconds: float) -> type[HttpToolsProtocol]:
    """The protocol class for uvicorn's `http`, with this limit."""
    return type("HeaderTimeout", (HeaderTimeoutProtocol,), {"header_timeout": seconds})
