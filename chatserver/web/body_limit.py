"""Plain ASGI middleware: an HTTP request body over a limit is refused with 413 as soon as
it is known to be too big (its Content-Length, or the bytes received so far when it is
sent in chunks), instead of being read whole into memory first. Paths that take files
(attachments) have a limit of their own."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatserver.web.http import error_response

MAX_BODY = 1024 * 1024  # an order, a refund or a form is a few hundred bytes


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY,
                 paths: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.paths = paths or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope["path"], self.limit)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(limit, scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:  # raised while the body was read: nothing was answered yet
            await self._refuse(limit, scope, receive, send)

    async def _refuse(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "too_large", f"the body is over {limit} bytes")
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)
