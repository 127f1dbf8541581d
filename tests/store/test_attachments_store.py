"""Attachments on every backend: kept whole with their thumbnail, found by id, counted per
uploader for the hourly quota."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatserver.domain.attachments import FileRef, NewAttachment
from chatserver.domain.clock import iso
from chatserver.domain.models import Author
from chatserver.store import Store, open_store
from chatserver.store.types import NotSendable
from tests.conftest import Clock
from tests.store.test_chat_store import assert_gapless, new_agent, new_visitor, open_chat
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


async def holder(store: Store, attachment_id: int) -> int | None:
    """The conversation holding a kept file (None: still its uploader's)."""
    found = await store.attachment(attachment_id)
    assert found is not None
    return found.conversation_id


def uploaded_by(author: Author, name: str = "photo.png") -> NewAttachment:
    return NewAttachment(author.role, str(author.id), name, "image/png", PNG.data,
                         thumbnail=b"small")


async def test_a_visitors_message_carries_their_file_which_then_is_the_conversations(
        store: Store) -> None:
    vera = await new_visitor(store)
    kept = await store.save_attachment(uploaded_by(vera))
    posted = await store.post_visitor_message(vera, "c1", "", 1.0, attachment_id=kept.id)
    conversation_id = posted.message.conversation_id
    carried = FileRef(kept.id, "photo.png", "image/png", kept.size)
    assert posted.message.attachment == carried
    assert [m.attachment for m in await store.messages(conversation_id)] == [carried]
    assert await holder(store, kept.id) == conversation_id
    # a resend is the first message again, and claims nothing twice
    again = await store.post_visitor_message(vera, "c1", "", 1.0, attachment_id=kept.id)
    assert again.duplicate and again.message.seq == 1
    assert await assert_gapless(store, conversation_id) == [1]


async def test_a_file_not_the_senders_or_sent_already_is_refused_and_nothing_stored(
        store: Store) -> None:
    vera, otto = await new_visitor(store), await new_visitor(store, "Otto")
    conversation_id = await open_chat(store, vera)
    ottos = await store.save_attachment(uploaded_by(otto))
    with pytest.raises(NotSendable):
        await store.post_visitor_message(vera, "c2", "", 1.0, attachment_id=ottos.id)
    with pytest.raises(NotSendable):
        await store.post_visitor_message(vera, "c3", "", 1.0, attachment_id=ottos.id + 1)
    veras = await store.save_attachment(uploaded_by(vera))
    await store.post_visitor_message(vera, "c4", "", 1.0, attachment_id=veras.id)
    with pytest.raises(NotSendable):
        await store.post_visitor_message(vera, "c5", "again", 1.0, attachment_id=veras.id)
    assert await assert_gapless(store, conversation_id) == [1, 2]
    assert await store.message_by_client_id(vera, "c2") is None
    assert await holder(store, ottos.id) is None


async def test_two_messages_racing_for_one_file_carry_it_once(store: Store) -> None:
    _ann, staff = await new_agent(store)
    vera = await new_visitor(store)
    conversation_id = await open_chat(store, vera)
    kept = await store.save_attachment(uploaded_by(staff, "invoice.png"))
    results = await asyncio.gather(*(store.post_agent_message(
        conversation_id, staff, f"a{n}", "", False, attachment_id=kept.id) for n in range(4)),
        return_exceptions=True)
    carried = [r for r in results if not isinstance(r, BaseException)]
    assert len(carried) == 1 and carried[0].message.attachment is not None
    assert all(isinstance(r, NotSendable) for r in results if isinstance(r, BaseException))
    assert await assert_gapless(store, conversation_id) == [1, 2]


async def test_a_sent_file_is_found_by_its_name_and_shown_as_the_last_message(
        store: Store) -> None:
    vera = await new_visitor(store)
    kept = await store.save_attachment(uploaded_by(vera, "Receipt March.pdf"))
    posted = await store.post_visitor_message(vera, "c1", "", 1.0, attachment_id=kept.id)
    await store.save_attachment(uploaded_by(vera, "unsent receipt.png"))  # not in a chat
    [found] = await store.inbox("all", 0, True, "receipt", 10)
    assert found["id"] == posted.message.conversation_id
    assert found["last_message"] == "[attachment: Receipt March.pdf]"
    assert [c["id"] for c in await store.inbox("all", 0, True, "march", 10)] == [found["id"]]
    assert await store.inbox("all", 0, True, "ceipt", 10) == []  # at a word's start only


async def test_with_a_directory_the_bytes_live_there_and_an_erase_deletes_them(
        store_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    store = await open_store(store_url, str(folder))
    try:
        vera = await new_visitor(store)
        sent = await store.save_attachment(uploaded_by(vera))
        kept = await store.save_attachment(uploaded_by(vera, "later.png"))
        [one, other] = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
        assert {one.read_bytes(), other.read_bytes()} == {PNG.data}
        assert await store.attachment_content(sent.id) == PNG.data
        assert await store.attachment_content(sent.id, thumbnail=True) == b"small"
        posted = await store.post_visitor_message(vera, "c1", "", 1.0, attachment_id=sent.id)
        await store.close_conversation(posted.message.conversation_id, "agent", "Closed.")
        assert await store.erase_closed_before("2999-01-01T00:00:00.000Z", 10) == [
            posted.message.conversation_id]
        assert await store.attachment_content(sent.id) is None
        [left] = folder.iterdir()  # the file never sent stays its uploader's
        assert await store.attachment_content(kept.id) == left.read_bytes() == PNG.data
    finally:
        await store.close()
