"""The emails a visitor gets: answers they were not there to read, and transcripts."""

from __future__ import annotations

from chatserver.domain.models import Message
from chatserver.domain.transcript import lines


def missed_answers(title: str, messages: list[Message]) -> tuple[str, str]:
    """Subject and body for agent answers a visitor left before reading."""
    names = sorted({m.author.name for m in messages})
    subject = f"{' and '.join(names)} answered you ({title})"
    body = "\n".join(["You have a new answer to your chat:", "", *lines(messages),
                      "Reply by opening the chat on our website again: your conversation is "
                      "kept there."])
    return subject, body


def transcript(title: str, conversation_id: int, messages: list[Message]) -> tuple[str, str]:
    subject = f"Your conversation with {title} (#{conversation_id})"
    return subject, "\n".join(["Here is your conversation, as you asked:", "",
                               *lines(messages)])
