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


PRECHAT = ("off", "optional", "required")
# the texts' lengths, fewest and most characters (the admin page's fields are rendered with them)
LENGTHS = {"title": (1, 80), "greeting": (0, 300), "reply_time": (0, 200),
           "business_hours": (0, 200), "offline_message": (0, 300)}
FIELDS = {
    "color": (color, False, None),
    "prechat": (one_of(*PRECHAT), False, None),
    **{name: (string(most, least), False, None) for name, (least, most) in LENGTHS.items()},
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
