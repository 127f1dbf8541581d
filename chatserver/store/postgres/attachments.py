"""Attachments kept in the database, as SQLite's (sqlite/attachments.py says what each
does: `attach` too), and PostgresStore's methods that run them."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from chatserver.domain.attachments import Attachment, FileRef, NewAttachment
from chatserver.domain.clock import iso
from chatserver.domain.models import Author
from chatserver.store import clock
from chatserver.store.files import FileDir
from chatserver.store.postgres.connection import Connection, Record, Runs
from chatserver.store.types import NotSendable, Posted

COLUMNS = ("id, uploader_kind, uploader_id, conversation_id, name, content_type, size, "
           "thumbnail IS NOT NULL AS has_thumbnail, created_at")


def attachment_of(row: Record) -> Attachment:
    return Attachment(row["id"], row["uploader_kind"], row["uploader_id"],
                      row["conversation_id"], row["name"], row["content_type"], row["size"],
                      row["has_thumbnail"], row["created_at"])


async def save(db: Connection, new: NewAttachment, file: str | None) -> Attachment:
    row = await db.fetchrow(
        "INSERT INTO attachments (uploader_kind, uploader_id, name, content_type, size, bytes, "
        "thumbnail, created_at, file) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        f"RETURNING {COLUMNS}", new.uploader_kind, new.uploader_id, new.name,
        new.content_type, len(new.data), b"" if file else new.data, new.thumbnail,
        iso(clock.now()), file)
    return attachment_of(row)


async def forget(db: Connection, attachment_id: int) -> None:
    await db.execute("DELETE FROM attachments WHERE id = $1", attachment_id)


async def file_names(db: Connection) -> set[str]:
    return {r[0] for r in await db.fetch("SELECT file FROM attachments WHERE file IS NOT NULL")}


async def attach(db: Connection, posted: Posted, author: Author,
                 attachment_id: int | None) -> Posted:
    if attachment_id is None or posted.duplicate:
        return posted
    message = posted.message
    row = await db.fetchrow(
        "UPDATE attachments SET conversation_id = $1 WHERE id = $2 AND uploader_kind = $3 AND "
        "uploader_id = $4 AND conversation_id IS NULL RETURNING id, name, content_type, size",
        message.conversation_id, attachment_id, author.role, author.id)
    if row is None:
        raise NotSendable()
    await db.execute("UPDATE messages SET attachment_id = $1 WHERE sender_key = $2 AND "
                     "client_id = $3", attachment_id, author.sender_key, message.client_id)
    return replace(posted, message=replace(message, attachment=FileRef(*row)))


async def find(db: Connection, attachment_id: int) -> Attachment | None:
    row = await db.fetchrow(f"SELECT {COLUMNS} FROM attachments WHERE id = $1", attachment_id)
    return attachment_of(row) if row is not None else None


async def content(db: Connection, attachment_id: int,
                  thumbnail: bool) -> tuple[bytes | None, str | None]:
    column = "thumbnail" if thumbnail else "bytes"
    row = await db.fetchrow(f"SELECT {column}, file FROM attachments WHERE id = $1",
                            attachment_id)
    if row is None:
        return None, None
    return (bytes(row[0]) if row[0] is not None else None), None if thumbnail else row[1]


async def uploaded_since(db: Connection, kind: str, uploader_id: str,
                         since: str) -> tuple[int, int]:
    row = await db.fetchrow("SELECT count(*), coalesce(sum(size), 0) FROM attachments WHERE "
                            "uploader_kind = $1 AND uploader_id = $2 AND created_at >= $3",
                            kind, uploader_id, since)
    return int(row[0]), int(row[1])


class AttachmentMethods(Runs):
    _files: FileDir | None = None  # ATTACHMENTS_DIR; None: the bytes stay in the database

    def keep_files_in(self, path: str | None) -> None:
        """New files' bytes go to this directory (the ones kept in rows stay there)."""
        self._files = FileDir(path) if path else None

    async def save_attachment(self, new: NewAttachment) -> Attachment:
        if self._files is None:
            return await self.transaction(lambda db: save(db, new, None))
        name = FileDir.new_name()
        kept = await self.transaction(lambda db: save(db, new, name))
        try:  # after the row: store/files.py's sweep never takes it for an orphan
            await asyncio.to_thread(self._files.put, name, new.data)
        except BaseException:
            await self.transaction(lambda db: forget(db, kept.id))
            raise
        return kept

    async def sweep_files(self) -> None:
        if self._files is not None:
            listed = await asyncio.to_thread(self._files.names)  # first: see files.py
            await asyncio.to_thread(self._files.remove, listed - await self.read(file_names))

    async def attachment(self, attachment_id: int) -> Attachment | None:
        return await self.read(lambda db: find(db, attachment_id))

    async def attachment_content(self, attachment_id: int,
                                 thumbnail: bool = False) -> bytes | None:
        data, file = await self.read(lambda db: content(db, attachment_id, thumbnail))
        if file is not None and self._files is not None:
            return await asyncio.to_thread(self._files.get, file)
        return data

    async def uploaded_since(self, kind: str, uploader_id: str,
                             since: str) -> tuple[int, int]:
        return await self.read(lambda db: uploaded_since(db, kind, uploader_id, since))
