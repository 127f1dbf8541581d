"""Attachments on every backend: kept whole with their thumbnail, found by id, counted per
uploader for the hourly quota."""

from __future__ import annotations

from chatserver.domain.attachments import NewAttachment
from chatserver.domain.clock import iso
from chatserver.store import Store
from tests.conftest import Clock
from tests.store.test_privacy_store import held

PNG = NewAttachment("visitor", "v1", "photo.png", "image/png", b"\x89PNG\r\n\x1a\n" +
                    bytes(range(256)) * 4, thumbnail=b"small")
TEXT = NewAttachment("visitor", "v1", "notes.txt", "text/plain", "ça\n".encode())


async def test_a_file_is_kept_whole_with_its_thumbnail(store: Store,
                                                       store_clock: Clock) -> None:
    kept = await store.save_attachment(PNG)
    assert (kept.name, kept.content_type, kept.size) == ("photo.png", "image/png",
                                                         len(PNG.data))
    assert kept.held_by("visitor", "v1") and not kept.held_by("visitor", "v2")
    assert kept.conversation_id is None and kept.has_thumbnail
    assert kept.created_at == iso(store_clock.at)
    assert await store.attachment(kept.id) == kept
    assert await store.attachment_content(kept.id) == PNG.data
    assert await store.attachment_content(kept.id, thumbnail=True) == b"small"


async def test_a_file_without_a_thumbnail_or_an_unknown_id_gives_none(store: Store) -> None:
    kept = await store.save_attachment(TEXT)
    assert not kept.has_thumbnail
    assert await store.attachment_content(kept.id, thumbnail=True) is None
    assert await store.attachment(kept.id + 1) is None
    assert await store.attachment_content(kept.id + 1) is None


async def test_uploads_are_counted_per_uploader_from_a_time(store: Store,
                                                            store_clock: Clock) -> None:
    start = iso(store_clock.at)
    await store.save_attachment(PNG)
    store_clock.at += 60
    await store.save_attachment(TEXT)
    await store.save_attachment(NewAttachment("agent", "1", "a.txt", "text/plain", b"hi"))
    assert await store.uploaded_since("visitor", "v1", start) == (2, len(PNG.data) +
                                                                  len(TEXT.data))
    assert await store.uploaded_since("visitor", "v1", iso(store_clock.at)) == (1, 4)
    assert await store.uploaded_since("visitor", "v2", start) == (0, 0)
    assert await store.uploaded_since("agent", "1", start) == (1, 2)


async def test_erasing_a_customer_deletes_the_files_their_visitors_uploaded(
        store: Store) -> None:
    maya = await held(store)
    theirs = await store.save_attachment(NewAttachment("visitor", str(maya.visitor.id), "a.txt",
                                                       "text/plain", b"my address"))
    others = await store.save_attachment(TEXT)
    await store.erase_customer(maya.id, maya.agent.id, "asked by email")
    assert await store.attachment(theirs.id) is None
    assert await store.attachment_content(theirs.id) is None
    assert await store.attachment(others.id) is not None
