"""Attachments' rules (issue 15): the type a file is, read from its bytes (never its name
or the type the browser claims); the name it is offered under; the disposition it is served
with; the signed links that expire; the per-visitor limits. No I/O: images are re-encoded
by the service (service/images.py), files kept by the store.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from chatserver.domain.errors import Refused

RASTER = ("image/png", "image/jpeg", "image/webp", "image/gif")
ALLOWED = (*RASTER, "application/pdf", "text/plain")
LINK_SECONDS = 3600  # a signed url's life: a fresh one comes with every welcome and history
NAME_CHARS = 120
# markup a browser might run were the file ever taken for a page: a polyglot (a GIF or a
# PDF that is also HTML) is refused whatever its first bytes say
MARKUP = re.compile(rb"<\s*(script|html|!doctype|svg|body|iframe|object|embed|\?xml)",
                    re.IGNORECASE)
SNIFFED_BYTES = 1024  # what browsers read to guess a type
TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # tab, newlines, form feed pass


def content_type(data: bytes) -> str:
    """The type of the file, from its magic bytes (plain text: valid UTF-8 with no control
    bytes); Refused 415 for anything else, and for any file with markup near its start."""
    if not data:
        raise Refused(415, "unsupported_type", "the file is empty")
    if MARKUP.search(data[:SNIFFED_BYTES]):
        raise Refused(415, "unsupported_type", "the file holds HTML, SVG or XML markup; "
                      "send an image (PNG, JPEG, WebP, GIF), a PDF or plain text")
    found = _magic(data) or _text(data)
    if found is None:
        raise Refused(415, "unsupported_type", "this kind of file cannot be sent; send an "
                      "image (PNG, JPEG, WebP, GIF), a PDF or plain text")
    return found


def _magic(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if TEXT_CONTROLS.search(text) else "text/plain"


EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp",
              "image/gif": ".gif", "application/pdf": ".pdf", "text/plain": ".txt"}


def safe_name(name: str | None, kind: str) -> str:
    """The name a file is kept and offered under: no path, no control or quoting
    characters, at most NAME_CHARS, ending in its type's extension (a `.html` name on a
    text file becomes `x.html.txt`)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base)
                   if unicodedata.category(c)[0] not in "CZ" or c == " ")
    base = re.sub(r'["<>|*?:;]', "_", base).strip(" .") or "file"
    extension = EXTENSIONS[kind]
    if not base.lower().endswith(extension) and not (
            kind == "image/jpeg" and base.lower().endswith(".jpeg")):
        base += extension
    return base[-NAME_CHARS:]


def disposition(kind: str, name: str) -> str:
    """`inline` for raster images, else `attachment` (a PDF or text is downloaded, never
    shown in our origin); the name as RFC 6266 has it, ASCII and UTF-8."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    utf8 = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else
                   "".join(f"%{b:02X}" for b in c.encode()) for c in name)
    how = "inline" if kind in RASTER else "attachment"
    return f"{how}; filename=\"{ascii_name}\"; filename*=UTF-8''{utf8}"


def signature(secret: str, attachment_id: int, expires: int) -> str:
    message = f"attachment:{attachment_id}:{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def link(secret: str, attachment_id: int, now: float, seconds: int = LINK_SECONDS) -> str:
    """The path the attachment is served at until `now` + `seconds` (a Unix time)."""
    expires = int(now) + seconds
    return (f"/api/attachments/{attachment_id}?expires={expires}"
            f"&signature={signature(secret, attachment_id, expires)}")


def link_valid(secret: str, attachment_id: int, expires: str, given: str, now: float) -> bool:
    """The link was made with this secret for this attachment, and has not expired."""
    if not expires.isdigit() or int(expires) < now:
        return False
    return hmac.compare_digest(signature(secret, attachment_id, int(expires)), given)


@dataclass(frozen=True)
class FileRef:
    """What a message says of the file it carries; its `url` is signed afresh each time it
    is shown (never stored), by a `Link`."""

    id: int
    name: str
    content_type: str
    size: int

    def for_client(self, link: Link) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "content_type": self.content_type,
                "size": self.size, "url": link(self.id)}

    def label(self) -> str:
        """How a transcript in text, an email or search shows it."""
        return f"[attachment: {self.name}, {self.content_type}, {size_label(self.size)}]"


Link = Callable[[int], str]  # an attachment's id -> a signed url to it, good for a while


def size_label(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def claim_refusal(found: Attachment | None, kind: str, holder_id: str) -> str | None:
    """Why a sender may not send this file (None: they may): it must exist, be theirs, and
    not have been sent already (an attachment belongs to one conversation)."""
    if found is None or not found.held_by(kind, holder_id):
        return "forbidden"
    if found.conversation_id is not None:
        return "conflict"
    return None


@dataclass(frozen=True)
class UploadQuota:
    """What one visitor may upload in an hour (agents have no quota)."""

    count: int = 20
    bytes: int = 50 * 1024 * 1024

    def check(self, recent_count: int, recent_bytes: int, size: int) -> None:
        """Refused 429 when this file would take the visitor past the hour's quota."""
        if recent_count + 1 > self.count or recent_bytes + size > self.bytes:
            raise Refused(429, "too_many_uploads", f"at most {self.count} files and "
                          f"{self.bytes // (1024 * 1024)} MB an hour; try again later")


@dataclass(frozen=True)
class NewAttachment:
    """A file checked and ready to keep: its uploader (`visitor` or `agent`, and their id)."""

    uploader_kind: str
    uploader_id: str
    name: str
    content_type: str
    data: bytes
    thumbnail: bytes | None = None


@dataclass(frozen=True)
class Attachment:
    """A kept file: its uploader's until a message carries it, then its conversation's."""

    id: int
    uploader_kind: str
    uploader_id: str
    conversation_id: int | None
    name: str
    content_type: str
    size: int
    has_thumbnail: bool
    created_at: str

    def held_by(self, kind: str, holder_id: str) -> bool:
        return self.uploader_kind == kind and self.uploader_id == holder_id

    def ref(self) -> FileRef:
        return FileRef(self.id, self.name, self.content_type, self.size)
