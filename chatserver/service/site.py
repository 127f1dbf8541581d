"""What an admin sets for the whole site: the widget's settings and where it may be embedded.

Each server process keeps them at hand, read from the store; a change is news on the bus's
`settings` topic, at which every process reads them again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson

from chatserver.bus import Bus, Event, Subscription, SubscriptionOverflow
from chatserver.config import Settings
from chatserver.domain import widget_settings
from chatserver.domain.frames import FrameError
from chatserver.mail import Mailer
from chatserver.service.errors import ChatError
from chatserver.store import Store

log = logging.getLogger(__name__)
SETTINGS = "settings"  # the topic: "read the site's settings again"
RETRY_AFTER = 1.0  # seconds between two tries to hear the news again after losing them


class Site:
    def __init__(self, settings: Settings, store: Store, bus: Bus, mailer: Mailer) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.mailer = mailer
        self.widget = dict(widget_settings.DEFAULTS)
        self.extra_origins: list[str] = []  # allowed by an admin, beside ALLOWED_ORIGINS
        self._follow: asyncio.Task[None] | None = None

    async def start(self) -> None:
        news = await self.bus.subscribe([SETTINGS])  # before reading: no change missed
        await self.reload()
        self._follow = asyncio.get_running_loop().create_task(self._follow_news(news))

    async def stop(self) -> None:
        if self._follow is not None:
            self._follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow

    async def reload(self) -> None:
        """Read the settings as stored (another process may have changed them)."""
        self.extra_origins = orjson.loads(await self.store.setting("allowed_origins") or "[]")
        stored = await self.store.setting("widget")
        self.widget = widget_settings.updated({}, orjson.loads(stored) if stored else {})

    async def _follow_news(self, news: Subscription) -> None:
        while True:
            try:
                await news.get()
            except SubscriptionOverflow:  # news lost (the bus's link dropped): hear afresh
                news.close()
                await asyncio.sleep(RETRY_AFTER)
                news = await self.bus.subscribe([SETTINGS])
            try:
                await self.reload()
            except Exception as error:
                log.warning("the site's settings could not be read again: %s", error)

    def _changed(self) -> None:
        self.bus.publish(SETTINGS, Event({"type": "settings"}))

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
        self._changed()

    async def set_widget_settings(self, changes: dict[str, Any]) -> dict[str, str]:
        """An admin changes the widget; raises ChatError naming a bad field."""
        try:
            widget = widget_settings.updated(self.widget, changes)
        except FrameError as error:
            raise ChatError("bad_request", error.message) from None
        await self.store.set_setting("widget", orjson.dumps(widget).decode())
        self.widget = widget
        self._changed()
        return widget
