"""SMTP_URL: the sender it names is the envelope sender, so it must be one plain address."""

from __future__ import annotations

import pytest

from chatserver.mail import parse_smtp_url


def test_the_from_address_is_the_sender() -> None:
    config = parse_smtp_url("smtp://mail.example:587?from=support@shop.example&tls=starttls")
    assert (config.host, config.port, config.sender, config.starttls) == (
        "mail.example", 587, "support@shop.example", True)


@pytest.mark.parametrize("sender", ["Acme <support@shop.example>", "a@shop.example,b@x.example",
                                    "support"])
def test_a_from_that_is_not_one_plain_address_is_refused_at_start(sender: str) -> None:
    with pytest.raises(ValueError, match="from= must be one email address"):
        parse_smtp_url(f"smtp://mail.example?from={sender}")
