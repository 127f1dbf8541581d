"""Static pages: the widget script, the demo shop, vendored assets."""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from chatserver.assets import asset_dir


@functools.cache
def widget_source() -> bytes:
    """The widget as served: its source without whole-line comments (they are for the
    people reading widget/widget.js, not for every visitor's download)."""
    lines = (asset_dir("widget") / "widget.js").read_text(encoding="utf-8").splitlines()
    return "\n".join(ln for ln in lines if not ln.lstrip().startswith("//")).encode()


async def widget_js(request: Request) -> Response:
    return Response(widget_source(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=300",
                             "Access-Control-Allow-Origin": "*"})


async def demo(request: Request) -> Response:
    """A sample shop page with the widget embedded (`chatserver demo` also serves it from a
    second port, to show embedding from another origin)."""
    return request.app.state.templates.TemplateResponse(
        request, "demo.html", {"widget_src": "/widget.js"})


async def home(request: Request) -> Response:
    return RedirectResponse("/console", status_code=303)


def routes() -> list[Route | Mount]:
    return [
        Route("/", home),
        Route("/widget.js", widget_js),
        Route("/demo", demo),
        Mount("/static", StaticFiles(directory=asset_dir("static")), name="static"),
    ]
