"""What an admin sets about the widget: its look, the pre-chat form, and what visitors are
told when nobody is online. Data attributes on the script tag still win for the look."""

from __future__ import annotations

import re
from typing import Any

from chatserver.domain.frames import FrameError, check_fields, one_of, string

COLOR = re.compile(r"#[0-9a-fA-F]{6}")

DEFAULTS: dict[str, str] = {
    "color": "#4f46e5",
    "title": "Chat with us",
    "greeting": "Hi! How can we help?",
    "prechat": "off",
    "reply_time": "We usually reply within a few hours.",
    "business_hours": "",
    "offline_message": "We're away right now. Leave your email and we'll answer by email.",
}
# The default offline message of a server that sends no email (SMTP_URL unset).
OFFLINE_WITHOUT_EMAIL = "We're away right now. Leave a message and we'll answer here."


def color(value: Any) -> str:
    if not isinstance(value, str) or not COLOR.fullmatch(value):
        raise ValueError("must be a colour like #4f46e5")
    return value.lower()


FIELDS = {
    "color": (color, False, None),
    "title": (string(80), False, None),
    "greeting": (string(300, 0), False, None),
    "prechat": (one_of("off", "optional", "required"), False, None),
    "reply_time": (string(200, 0), False, None),
    "business_hours": (string(200, 0), False, None),
    "offline_message": (string(300, 0), False, None),
}


def updated(current: dict[str, str], changes: dict[str, Any]) -> dict[str, str]:
    """The settings with `changes` applied; raises FrameError naming a bad field."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise FrameError("bad_request", f"unknown widget settings: {', '.join(sorted(unknown))}")
    clean = check_fields(changes, FIELDS, "widget")
    return {**DEFAULTS, **current, **{k: v for k, v in clean.items() if v is not None}}


def for_visitors(settings: dict[str, str], email_enabled: bool) -> dict[str, str]:
    """What the widget is sent: without email, the default offline message promises none."""
    if email_enabled or settings["offline_message"] != DEFAULTS["offline_message"]:
        return settings
    return {**settings, "offline_message": OFFLINE_WITHOUT_EMAIL}
