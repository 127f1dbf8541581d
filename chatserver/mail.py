"""Email to visitors (answers they missed, transcripts), over SMTP with aiosmtplib.

`SMTP_URL` is `smtp://[user:password@]host[:port][?from=support@shop.example&tls=starttls]`
(`smtps://` for TLS from the first byte). Unset, nothing is sent and the server says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    starttls: bool = False


def parse_smtp_url(url: str) -> SmtpConfig:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL looks like smtp://user:password@host:587?from=a@b.example")
    query = parse_qs(parts.query)
    sender = query.get("from", [f"chat@{parts.hostname}"])[0]
    return SmtpConfig(
        host=parts.hostname, port=parts.port or (465 if parts.scheme == "smtps" else 25),
        sender=sender, username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=parts.scheme == "smtps",
        starttls=query.get("tls", [""])[0] == "starttls")


class Mailer:
    def __init__(self, smtp_url: str | None) -> None:
        self.config = parse_smtp_url(smtp_url) if smtp_url else None

    @property
    def enabled(self) -> bool:
        return self.config is not None

    async def send(self, to: str, subject: str, body: str, sender_name: str) -> bool:
        """Send a plain-text email; False (and a log line) when it could not be sent."""
        if self.config is None:
            return False
        message = EmailMessage()
        try:
            message["From"] = f"{sender_name} <{self.config.sender}>"
            message["To"] = to
            message["Subject"] = subject
        except ValueError as error:  # a line break in a name or address: not a header
            log.warning("could not email a visitor: %s", error)
            return False
        message.set_content(body)
        try:
            await aiosmtplib.send(
                message, hostname=self.config.host, port=self.config.port,
                username=self.config.username, password=self.config.password,
                use_tls=self.config.implicit_tls, start_tls=self.config.starttls, timeout=20)
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning("could not email a visitor: %s", error)
            return False
        return True
