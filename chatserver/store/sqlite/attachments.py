"""Attachments kept in the database (issue 15): a new file, its facts, its bytes, and what
one uploader sent lately (for their hourly quota); SqliteStore's methods at the end."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from chatserver.domain.attachments import Attachment, FileRef, NewAttachment
from chatserver.domain.clock import iso
from chatserver.domain.models import Author
from chatserver.store import clock
from chatserver.store.files import FileDir
from chatserver.store.sqlite.connection import Runs
from chatserver.store.types import NotSendable, Posted

COLUMNS = ("id, uploader_kind, uploader_id, conversation_id, name, content_type, size, "
           "thumbnail IS NOT NULL AS has_thumbnail, created_at")


def attachment_of(row: sqlite3.Row) -> Attachment:
    return Attachment(row["id"], row["uploader_kind"], str(row["uploader_id"]),
                      row["conversation_id"], row["name"], row["content_type"], row["size"],
                      bool(row["has_thumbnail"]), row["created_at"])


def save(db: sqlite3.Connection, new: NewAttachment, file: str | None) -> Attachment:
    """The file's row; with `file`, its bytes go to that file of ATTACHMENTS_DIR instead."""
    row = db.execute(
        "INSERT INTO attachments (uploader_kind, uploader_id, name, content_type, size, bytes, "
        f"thumbnail, created_at, file) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}",
        (new.uploader_kind, new.uploader_id, new.name, new.content_type, len(new.data),
         b"" if file else new.data, new.thumbnail, iso(clock.now()), file)).fetchone()
    return attachment_of(row)


def forget(db: sqlite3.Connection, attachment_id: int) -> None:
    db.execute("DELETE FROM attachments WHERE id = ?", (attachment_id,))


def file_names(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT file FROM attachments WHERE file IS NOT NULL")}


def attach(db: sqlite3.Connection, posted: Posted, author: Author,
           attachment_id: int | None) -> Posted:
    """A new message carries the file: the file becomes its conversation's, in the message's
    transaction. NotAllowed (the message undone) when it is not the sender's or was sent."""
    if attachment_id is None or posted.duplicate:
        return posted
    message = posted.message
    row = db.execute(
        "UPDATE attachments SET conversation_id = ? WHERE id = ? AND uploader_kind = ? AND "
        "uploader_id = ? AND conversation_id IS NULL RETURNING id, name, content_type, size",
        (message.conversation_id, attachment_id, author.role, author.id)).fetchone()
    if row is None:
        raise NotSendable()
    db.execute("UPDATE messages SET attachment_id = ? WHERE sender_key = ? AND client_id = ?",
               (attachment_id, author.sender_key, message.client_id))
    return replace(posted, message=replace(message, attachment=FileRef(*row)))


def carrying(db: sqlite3.Connection, post: Callable[[sqlite3.Connection], Posted],
             author: Author, attachment_id: int | None) -> Posted:
    """`post` (a message's write), then `attach` its file in the same transaction."""
    return attach(db, post(db), author, attachment_id)


def find(db: sqlite3.Connection, attachment_id: int) -> Attachment | None:
    row = db.execute(f"SELECT {COLUMNS} FROM attachments WHERE id = ?",
                     (attachment_id,)).fetchone()
    return attachment_of(row) if row is not None else None


def content(db: sqlite3.Connection, attachment_id: int,
            thumbnail: bool) -> tuple[bytes | None, str | None]:
    """The bytes kept in the row (or the thumbnail), and the file holding them instead."""
    column = "thumbnail" if thumbnail else "bytes"
    row = db.execute(f"SELECT {column}, file FROM attachments WHERE id = ?",
                     (attachment_id,)).fetchone()
    if row is None:
        return None, None
    return (bytes(row[0]) if row[0] is not None else None), None if thumbnail else row[1]


def uploaded_since(db: sqlite3.Connection, kind: str, uploader_id: str,
                   since: str) -> tuple[int, int]:
    row = db.execute("SELECT count(*), coalesce(sum(size), 0) FROM attachments WHERE "
                     "uploader_kind = ? AND uploader_id = ? AND created_at >= ?",
                     (kind, uploader_id, since)).fetchone()
    return int(row[0]), int(row[1])


class AttachmentMethods(Runs):
    _files: FileDir | None = None  # ATTACHMENTS_DIR; None: the bytes stay in the database

    def keep_files_in(self, path: str | None) -> None:
        """New files' bytes go to this directory (the ones kept in rows stay there)."""
        self._files = FileDir(path) if path else None

    async def save_attachment(self, new: NewAttachment) -> Attachment:
        if self._files is None:
            return await self.transaction(partial(save, new=new, file=None))
        name = FileDir.new_name()
        kept = await self.transaction(partial(save, new=new, file=name))
        try:  # after the row: store/files.py's sweep never takes it for an orphan
            await asyncio.to_thread(self._files.put, name, new.data)
        except BaseException:
            await self.transaction(partial(forget, attachment_id=kept.id))
            raise
        return kept

    async def sweep_files(self) -> None:
        """Delete the files of ATTACHMENTS_DIR no row names any more (after an erase)."""
        if self._files is not None:
            listed = await asyncio.to_thread(self._files.names)  # first: see files.py
            await asyncio.to_thread(self._files.remove, listed - await self.read(file_names))

    async def attachment(self, attachment_id: int) -> Attachment | None:
        return await self.read(partial(find, attachment_id=attachment_id))

    async def attachment_content(self, attachment_id: int,
                                 thumbnail: bool = False) -> bytes | None:
        data, file = await self.read(partial(content, attachment_id=attachment_id,
                                             thumbnail=thumbnail))
        if file is not None and self._files is not None:
            return await asyncio.to_thread(self._files.get, file)
        return data

    async def uploaded_since(self, kind: str, uploader_id: str,
                             since: str) -> tuple[int, int]:
        return await self.read(partial(uploaded_since, kind=kind, uploader_id=uploader_id,
                                       since=since))
