"""The left column: Mine, Queue, Open, Closed, Follow-ups and search results."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
