"""What every HTTP answer carries, whatever gave it: a route, an error page, a 413 or a 500."""

from __future__ import annotations

from starlette.types import Message, Send

NOSNIFF = (b"x-content-type-options", b"nosniff")


def no_sniffing(send: Send) -> Send:
    """`send`, with `X-Content-Type-Options: nosniff` on the response: a browser then takes
    JSON or text for what its Content-Type says, never for script or a page."""
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if all(name.lower() != NOSNIFF[0] for name, _ in headers):
                headers.append(NOSNIFF)
            message = {**message, "headers": headers}
        await send(message)
    return sending
