"""What the transcript shows of each message, as plain data for its template: who wrote it,
whether it is a private note, and the "Seen" mark on the agent's last message the visitor
has read; and how long the visitor has been waiting for an answer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chatserver.domain.attachments import Link
from chatserver.domain.models import Message


@dataclass(frozen=True)
class Shown:
    """A message as a transcript item."""
    message: Message
    role: str  # visitor, agent or system
    author: str
    seen: bool  # the visitor has read it, and it is the agent's last message they read
    file: dict[str, object] | None  # the file it carries, with a fresh link to it

    @property
    def key(self) -> str:
        """The item's id in the page: a message is appended once, whichever answer brings it."""
        m = self.message
        return f"note-{m.note_seq}" if m.private else f"msg-{m.seq}"


def shown(messages: Iterable[Message], visitor_read_seq: int, link: Link) -> list[Shown]:
    messages = list(messages)
    seen_seq = max((m.seq or 0 for m in messages
                    if not m.private and m.author.role == "agent"
                    and (m.seq or 0) <= visitor_read_seq), default=0)
    return [Shown(message=m, role=m.author.role,
                  author=m.author.name or ("Visitor" if m.author.role == "visitor" else "Agent"),
                  seen=not m.private and m.author.role == "agent" and m.seq == seen_seq,
                  file=m.attachment.for_client(link) if m.attachment else None)
            for m in messages]


def waiting_since(messages: Iterable[Message]) -> str | None:
    """When the visitor's oldest unanswered message was sent; None if an agent answered."""
    since = None
    for m in messages:
        if m.private:
            continue
        if m.author.role == "visitor":
            since = since or m.at
        elif m.author.role == "agent":
            since = None
    return since


def last_numbers(messages: Iterable[Message]) -> dict[str, int]:
    """The last seq and the last note seq of `messages`: what the transcript asks after next."""
    messages = list(messages)
    return {"last_seq": max((m.seq or 0 for m in messages), default=0),
            "last_note_seq": max((m.note_seq or 0 for m in messages), default=0)}


def after(items: Iterable[Shown], seq: int, note_seq: int) -> list[Shown]:
    """The messages numbered after `seq` and the notes after `note_seq`, in commit order."""
    return [item for item in items
            if ((item.message.note_seq or 0) > note_seq if item.message.private
                else (item.message.seq or 0) > seq)]
