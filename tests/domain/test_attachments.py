"""The attachment rules: types from content, safe names, dispositions, links, quotas."""

from __future__ import annotations

import pytest

from chatserver.domain.attachments import (
    FileRef,
    UploadQuota,
    content_type,
    disposition,
    link,
    link_valid,
    safe_name,
    size_label,
)
from chatserver.domain.errors import Refused
from chatserver.domain.models import SYSTEM, Author, Message
from chatserver.domain.transcript import entry

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.mark.parametrize(("data", "kind"), [
    (PNG, "image/png"),
    (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"GIF89a\x01\x00", "image/gif"),
    (b"%PDF-1.7\n", "application/pdf"),
    ("Bonjour, ça va ?\n\ttab".encode(), "text/plain"),
])
def test_the_type_is_read_from_the_content(data: bytes, kind: str) -> None:
    assert content_type(data) == kind


@pytest.mark.parametrize("data", [
    b"<!DOCTYPE html><script>alert(1)</script>",
    b'<svg xmlns="http://www.w3.org/2000/svg"/>',
    b"GIF89a/*<script>alert(1)</script>",
    b"%PDF-1.4\n<html><body>hi</body></html>",
    b"PK\x03\x04zip",
    b"text with a NUL \x00 byte",
    b"\xff\xfe not utf-8",
    b"",
])
def test_markup_binaries_and_polyglots_are_refused_with_415(data: bytes) -> None:
    with pytest.raises(Refused) as refused:
        content_type(data)
    assert refused.value.status == 415
    assert refused.value.message


def test_a_safe_name_has_no_path_and_ends_in_its_types_extension() -> None:
    assert safe_name("../../etc/passwd", "text/plain") == "passwd.txt"
    assert safe_name('C:\\x\\"evil".html', "text/plain") == "_evil_.html.txt"
    assert safe_name("photo.JPEG", "image/jpeg") == "photo.JPEG"
    assert safe_name(None, "image/png") == "file.png"
    assert safe_name("a\r\nb.pdf", "application/pdf") == "ab.pdf"


def test_only_raster_images_are_inline() -> None:
    assert disposition("image/png", "a.png").startswith("inline;")
    assert disposition("application/pdf", "a.pdf").startswith("attachment;")
    assert disposition("text/plain", "é.txt").endswith("filename*=UTF-8''%C3%A9.txt")


def test_a_link_is_valid_until_it_expires_and_only_for_its_attachment() -> None:
    path = link("secret", 7, now=1000, seconds=60)
    query = dict(part.split("=") for part in path.split("?")[1].split("&"))
    assert link_valid("secret", 7, query["expires"], query["signature"], now=1060)
    assert not link_valid("secret", 7, query["expires"], query["signature"], now=1061)
    assert not link_valid("secret", 8, query["expires"], query["signature"], now=1000)
    assert not link_valid("other", 7, query["expires"], query["signature"], now=1000)
    assert not link_valid("secret", 7, "1e9", query["signature"], now=1000)


def test_a_visitor_past_the_hours_quota_is_refused_with_429() -> None:
    quota = UploadQuota(count=2, bytes=100)
    quota.check(1, 50, 50)
    with pytest.raises(Refused) as refused:
        quota.check(2, 0, 1)
    assert refused.value.status == 429
    with pytest.raises(Refused):
        quota.check(0, 60, 41)


def test_a_message_carrying_a_file_names_it_in_a_text_transcript() -> None:
    receipt = FileRef(7, "receipt.pdf", "application/pdf", 12 * 1024)
    said = Message(3, 2, None, Author("visitor", "Vera", "v1"), "", "2026-01-02T03:04:05Z",
                   attachment=receipt)
    assert entry(said, "03:04") == (
        "[03:04] Vera (visitor): [attachment: receipt.pdf, application/pdf, 12 KB]")
    with_text = Message(3, 3, None, Author("visitor", "Vera", "v1"), "here", "",
                        attachment=FileRef(8, "a.png", "image/png", 300))
    assert entry(with_text, "03:05").endswith(": here [attachment: a.png, image/png, 300 B]")
    assert size_label(5 * 1024 * 1024 + 1) == "5.0 MB"


def test_a_message_shows_its_file_with_the_url_it_is_given() -> None:
    said = Message(3, 2, None, Author("agent", "Ann", "1"), "", "t",
                   attachment=FileRef(7, "a.png", "image/png", 10))
    shown = said.for_visitor(lambda attachment_id: f"/signed/{attachment_id}")
    assert shown["attachment"] == {"id": 7, "name": "a.png", "content_type": "image/png",
                                   "size": 10, "url": "/signed/7"}
    assert "attachment" not in Message(3, 3, None, SYSTEM, "hi", "t").for_agent(str)
