"""The conversation pane: its header, the visitor's details, past chats and the transcript."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
