"""A conversation as plain text, one format for `transcript.txt` and the emails to visitors."""

from __future__ import annotations

from chatserver.domain.models import Message


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
