"""What the widget is sent depends on whether the server sends email."""

from __future__ import annotations

from chatserver.domain.widget_settings import DEFAULTS, OFFLINE_WITHOUT_EMAIL, for_visitors


def test_without_email_the_default_offline_message_promises_none() -> None:
    assert for_visitors(DEFAULTS, email_enabled=False)["offline_message"] == OFFLINE_WITHOUT_EMAIL
    assert for_visitors(DEFAULTS, email_enabled=True) == DEFAULTS


def test_an_admins_own_offline_message_is_sent_as_written() -> None:
    own = {**DEFAULTS, "offline_message": "Back Monday."}
    assert for_visitors(own, email_enabled=False) == own
