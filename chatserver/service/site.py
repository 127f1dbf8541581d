"""What an admin sets for the whole site: the widget's settings and where it may be embedded."""

from __future__ import annotations

from typing import Any

import orjson

from chatserver.config import Settings
from chatserver.domain import widget_settings
from chatserver.domain.frames import FrameError
from chatserver.mail import Mailer
from chatserver.service.errors import ChatError
from chatserver.store import Store


class Site:
    def __init__(self, settings: Settings, store: Store, mailer: Mailer) -> None:
        self.settings = settings
        self.store = store
        self.mailer = mailer
        self.widget = dict(widget_settings.DEFAULTS)
        self.extra_origins: list[str] = []  # allowed by an admin, beside ALLOWED_ORIGINS

    async def start(self) -> None:
        self.extra_origins = orjson.loads(await self.store.setting("allowed_origins") or "[]")
        stored = await self.store.setting("widget")
        self.widget = widget_settings.updated({}, orjson.loads(stored) if stored else {})

    @property
    def title(self) -> str:
        """The widget's title, which emails are signed with."""
        return self.widget["title"]

    @property
    def email_enabled(self) -> bool:
        """Whether this server sends email (SMTP_URL is set): the widget offers it only then."""
        return self.mailer.enabled

    def widget_for_visitors(self) -> dict[str, str]:
        return widget_settings.for_visitors(self.widget, self.email_enabled)

    def allowed_origins(self) -> tuple[str, ...] | None:
        """Where the widget may be embedded: ALLOWED_ORIGINS and what an admin added
        (None: only the server's own origin)."""
        allowed = (*self.environment_origins(), *self.extra_origins)
        return allowed or None

    def environment_origins(self) -> tuple[str, ...]:
        return tuple(self.settings.allowed_origins or ())

    async def set_allowed_origins(self, origins: list[str]) -> None:
        await self.store.set_setting("allowed_origins", orjson.dumps(origins).decode())
        self.extra_origins = origins

    async def set_widget_settings(self, changes: dict[str, Any]) -> dict[str, str]:
        """An admin changes the widget; raises ChatError naming a bad field."""
        try:
            widget = widget_settings.updated(self.widget, changes)
        except FrameError as error:
            raise ChatError("bad_request", error.message) from None
        await self.store.set_setting("widget", orjson.dumps(widget).decode())
        self.widget = widget
        return widget
