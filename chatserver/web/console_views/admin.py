"""The admin page's sections: agents, canned responses, widget settings, allowed origins, tokens."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
