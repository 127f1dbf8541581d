"""Zip files handed to people: the admin's export of a customer, a visitor's own transcript.
Each names a message's file the same way."""

from __future__ import annotations

import io
import zipfile

from chatserver.domain.models import Message
from chatserver.store import Store


def archive(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip of `(path, bytes)` entries, in that order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path, data in entries:
            zipped.writestr(path, data)
    return out.getvalue()


def attachment_path(attachment_id: int, name: str) -> str:
    """Where a message's file goes in a zip: its id keeps two same-named files apart, and its
    name was made safe when it was uploaded (no path, no control characters)."""
    return f"attachments/{attachment_id}-{name}"


async def message_files(store: Store, messages: list[Message]) -> list[tuple[str, bytes]]:
    """The files the messages carry, those still kept."""
    files = []
    for message in messages:
        attachment = message.attachment
        data = await store.attachment_content(attachment.id) if attachment else None
        if attachment is not None and data is not None:
            files.append((attachment_path(attachment.id, attachment.name), data))
    return files
