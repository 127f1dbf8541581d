"""Email to visitors (answers they missed, transcripts), over SMTP with aiosmtplib.

`SMTP_URL` is `smtp://[user:password@]host[:port][?from=support@shop.example&tls=starttls]`
(`smtps://` for TLS from the first byte). Unset, nothing is sent and the server says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from chatserver.domain.frames import recipient

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
    try:
        recipient(sender)  # it is the envelope sender too: one plain address
    except ValueError:
        raise ValueError(f"SMTP_URL's from= must be one email address, not {sender!r}") from None
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
        """Send a plain-text email to one address; False (and a log line) when it could not
        be sent. Headers are built by the email package, which quotes and encodes the
        names; the envelope is given, never read back from them."""
        if self.config is None:
            return False
        try:
            to = recipient(to)
            message = _message(self.config.sender, to, subject, body, sender_name)
        except ValueError as error:
            log.warning("could not email a visitor: %s", error)
            return False
        try:
            await aiosmtplib.send(
                message, sender=self.config.sender, recipients=[to],
                hostname=self.config.host, port=self.config.port,
                username=self.config.username, password=self.config.password,
                use_tls=self.config.implicit_tls, start_tls=self.config.starttls, timeout=20)
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning("could not email a visitor: %s", error)
            return False
        return True


def _message(sender: str, to: str, subject: str, body: str, sender_name: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = Address(display_name=one_line(sender_name), addr_spec=sender)
    message["To"] = Address(addr_spec=to)
    message["Subject"] = one_line(subject)
    message.set_content(body)
    return message


def one_line(text: str) -> str:
    """Text fit for a header: a title's line breaks, control characters and runs of spaces
    become one space."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())
