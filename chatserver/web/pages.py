"""Static pages: the widget script, the demo shop, vendored assets."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from chatserver.assets import asset_dir

# `/widget.js` is what shops embed: browsers check it again after five minutes (a 304 when
# unchanged). `/widget.js?v=<version>` names one exact copy, so it is cached for a year.
SHORT_CACHE = "public, max-age=300"
LONG_CACHE = "public, max-age=31536000, immutable"


COMMENT = re.compile(r"(^|\s)// .*$|^\s*//$")  # a line's comment, or a whole-line one


@dataclass(frozen=True)
class WidgetScript:
    body: bytes
    version: str  # a hash of the body
    modified: int  # the source file's mtime, whole seconds

    @property
    def etag(self) -> str:  # weak: the same script gzipped or not
        return f'W/"{self.version}"'

    @property
    def url(self) -> str:
        return f"/widget.js?v={self.version}"


@functools.cache
def widget_script() -> WidgetScript:
    """The widget as served: its source without indentation, blank lines and comments
    (they are for the people reading widget/widget.js, not for every visitor's download).
    The source keeps to two rules for this: no string spans lines where leading spaces
    matter, and " // " (spaces around) never appears inside a string or a regex."""
    path = asset_dir("widget") / "widget.js"
    lines = (COMMENT.sub("", ln).strip() for ln in path.read_text(encoding="utf-8").splitlines())
    body = "\n".join(ln for ln in lines if ln).encode()
    return WidgetScript(body, hashlib.sha256(body).hexdigest()[:16], int(path.stat().st_mtime))


def not_modified(request: Request, script: WidgetScript) -> bool:
    """The browser's copy is current (If-None-Match wins over If-Modified-Since)."""
    tags = request.headers.get("if-none-match")
    if tags is not None:
        seen = {tag.strip().removeprefix("W/") for tag in tags.split(",")}
        return "*" in seen or script.etag.removeprefix("W/") in seen
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if when.tzinfo is None:  # HTTP dates are GMT, whatever the server's zone
        when = when.replace(tzinfo=UTC)
    return when.timestamp() >= script.modified


async def widget_js(request: Request) -> Response:
    script = widget_script()
    pinned = request.query_params.get("v") == script.version
    headers = {"Cache-Control": LONG_CACHE if pinned else SHORT_CACHE, "ETag": script.etag,
               "Last-Modified": formatdate(script.modified, usegmt=True),
               "Access-Control-Allow-Origin": "*"}
    if not_modified(request, script):
        return Response(status_code=304, headers=headers)
    return Response(script.body, media_type="text/javascript", headers=headers)


async def demo(request: Request) -> Response:
    """A sample shop page with the widget embedded (`chatserver demo` also serves it from a
    second port, to show embedding from another origin)."""
    return request.app.state.templates.TemplateResponse(
        request, "demo.html", {"widget_src": widget_script().url})


async def home(request: Request) -> Response:
    return RedirectResponse("/console", status_code=303)


def routes() -> list[Route | Mount]:
    return [
        Route("/", home),
        Route("/widget.js", widget_js),
        Route("/demo", demo),
        Mount("/static", StaticFiles(directory=asset_dir("static")), name="static"),
    ]
