"""A conversation as plain text, one format for `transcript.txt` and the emails to visitors."""

from __future__ import annotations

from chatserver.domain.models import Conversation, Message


def entry(message: Message, when: str) -> str:
    """`[when] Name (role): text`, every further line of it indented two spaces: a line that
    starts at the margin is always a message, never one typed to look like another."""
    label = f"{message.author.name} ({message.author.role})"
    if message.private:
        label += " [private note]"
    said = message.text
    if message.attachment is not None:  # by name: a link in a mail or a file would expire
        said = f"{said} {message.attachment.label()}".strip()
    return "\n  ".join(f"[{when}] {label}: {said}".splitlines())


def lines(messages: list[Message]) -> list[str]:
    """The messages as the visitor's copies show them (emails, the widget's download), to
    the minute in UTC."""
    return [entry(m, minute(m.at)) + "\n" for m in messages]


def minute(at: str) -> str:
    return at[:16].replace("T", " ") + " UTC"


def visitor_copy(title: str, chats: list[tuple[Conversation, list[Message]]]) -> str:
    """A visitor's own conversations (oldest first) as one text file: what they saw, so never
    a private note."""
    parts = [f"Your conversations with {title}", ""]
    for conversation, messages in chats:
        parts += [f"Conversation #{conversation.id}, started {minute(conversation.created_at)}"
                  f" ({conversation.status})", "", *lines(messages)]
    return "\n".join(parts)
