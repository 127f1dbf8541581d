"""Attachments (issue 15): a file checked, cleaned and kept for its uploader, then served
to whoever holds a signed link to it. The rules are domain/attachments.py's; images are
re-encoded by images.py, on a worker thread (a 40-megapixel decode must not stall chats)."""

from __future__ import annotations

import asyncio

from chatserver.config import Settings
from chatserver.domain.attachments import (
    RASTER,
    Attachment,
    NewAttachment,
    UploadQuota,
    content_type,
    link_valid,
    safe_name,
)
from chatserver.domain.clock import iso, now
from chatserver.domain.errors import Refused
from chatserver.service.file_links import FileLinks
from chatserver.service.images import reencode
from chatserver.store import Store

HOUR = 3600


class Attachments:
    def __init__(self, settings: Settings, store: Store, links: FileLinks) -> None:
        self.settings = settings
        self.store = store
        self.links = links
        self.quota = UploadQuota(settings.visitor_uploads_per_hour,
                                 settings.visitor_upload_bytes_per_hour)

    async def upload(self, uploader_kind: str, uploader_id: str, name: str | None,
                     data: bytes) -> Attachment:
        """The file kept, durably, once its type (from its bytes), its size and (for a
        visitor) the hour's quota allow it; an image re-encoded without its metadata."""
        if len(data) > self.settings.max_upload_bytes:
            raise Refused(413, "too_large", "the file is over "
                          f"{self.settings.max_upload_bytes} bytes")
        kind = content_type(data)
        if uploader_kind == "visitor":
            self.quota.check(*await self.store.uploaded_since(
                uploader_kind, uploader_id, iso(now() - HOUR)), len(data))
        thumbnail = None
        if kind in RASTER:
            data, thumbnail = await asyncio.to_thread(reencode, data, kind)
        return await self.store.save_attachment(NewAttachment(
            uploader_kind, uploader_id, safe_name(name, kind), kind, data, thumbnail))

    def link(self, attachment_id: int) -> str:
        """A signed link to the file, good for an hour."""
        return self.links(attachment_id)

    async def served(self, attachment_id: int, expires: str, signature: str,
                     thumbnail: bool) -> tuple[Attachment, bytes]:
        """The file a link names, and its bytes (or its thumbnail's); Refused 403 for a
        link forged or expired, 404 for a file no longer kept."""
        secret = await self.links.load(self.store)
        if not link_valid(secret, attachment_id, expires, signature, now()):
            raise Refused(403, "forbidden", "this link is not valid or has expired; "
                          "open the conversation again for a fresh one")
        found = await self.store.attachment(attachment_id)
        data = await self.store.attachment_content(attachment_id, thumbnail)
        if found is None or data is None:
            raise Refused(404, "not_found", "no such file")
        return found, data

    async def visitor_id(self, token: str) -> str | None:
        """The visitor a widget's token names (None: no such visitor)."""
        visitor = await self.store.visitor_by_token(token) if token else None
        return str(visitor.id) if visitor is not None else None
