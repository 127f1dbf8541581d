"""The conversation pane rendered by the server against a real server: what each agent sees
of a chat (theirs, someone else's, queued, closed), the newer messages alone for appending,
and the plain HTTP acts (claim, transfer, close, presence) with their CSRF check."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from chatserver.domain import clock
from tests.attachment_files import image
from tests.web.conftest import InProcessServer, agent, visitor
from tests.web.test_console_api import say, start_chat
from tests.web.test_console_views_conversation import (
    MARKUP,
    PASSWORD,
    Console,
    chat_with_ann,
    signed_in,
)

ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture
def tokens(server: InProcessServer) -> list[str]:
    return server.staff(("ann@example.com", "Ann", "agent"), ("bob@example.com", "Bob", "agent"),
                        ("sue@example.com", "Sue", "supervisor"), password=PASSWORD)


def get(console: Console, path: str) -> httpx.Response:
    return httpx.get(console.server.url + path, timeout=10,
                     cookies={"chatserver_session": console.cookie})


def pane(console: Console, conversation_id: int) -> httpx.Response:
    return get(console, f"/console/parts/conversation/{conversation_id}")


def banner_of(response: httpx.Response) -> str:
    found = re.search(r"data-banner>([^<]*)", response.text)
    assert found is not None, response.text
    return " ".join(found.group(1).split())


def items(response: httpx.Response) -> list[str]:
    """The ids of the transcript's items, in order."""
    return re.findall(r'id="((?:msg|note)-\d+)"', response.text)


async def test_my_chat_shows_its_header_transcript_and_who_it_may_go_to(
        server: InProcessServer, tokens: list[str]) -> None:
    ann = await agent(server, tokens[0])
    await agent(server, tokens[1])  # Bob, online and available: a transfer target
    maya, conversation_id = await start_chat(server, MARKUP, name=MARKUP,
                                             email="maya@example.com")
    await ann.expect("assigned")
    await say(ann, conversation_id, "Let me check")
    await say(ann, conversation_id, MARKUP, private=True)
    await maya.send("read", seq=3)  # 1: Maya's, 2: "Ann joined", 3: Ann's reply
    await ann.expect("read", conversation_id=conversation_id)

    shown = pane(signed_in(server, "ann@example.com"), conversation_id)
    assert shown.status_code == 200, shown.text
    assert MARKUP not in shown.text and shown.text.count(ESCAPED) >= 3  # name, message, note
    assert 'data-mine="true"' in shown.text and "data-banner" not in shown.text
    assert '<option value="' in shown.text and ">Bob (0/" in shown.text
    assert 'data-testid="close-conversation"' in shown.text
    assert "maya@example.com" in shown.text and f"Chat #{conversation_id}" in shown.text
    assert items(shown) == ["msg-1", "msg-2", "msg-3", "note-1"]
    transcript = shown.text.split('id="transcript-items"')[1].split('id="pending"')[0]
    assert transcript.count('msg-tag">Private note') == 1
    assert shown.text.count('data-testid="seen"') == 1  # Maya read Ann's reply


async def test_someone_elses_chat_is_read_only_with_notes_for_supervisors(
        server: InProcessServer, tokens: list[str]) -> None:
    _, _, conversation_id = await chat_with_ann(server, tokens[0])
    bobs = pane(signed_in(server, "bob@example.com"), conversation_id)
    assert banner_of(bobs) == "Ann is handling this chat. You see it read-only."
    assert "data-composer" not in bobs.text and "conv-actions" not in bobs.text
    sues = pane(signed_in(server, "sue@example.com"), conversation_id)
    assert banner_of(sues).endswith("read-only and can add private notes.")
    assert "data-composer" in sues.text and "conv-actions" not in sues.text  # notes only
    assert pane(signed_in(server, "bob@example.com"), conversation_id + 100).status_code == 404


async def test_the_composer_holds_the_canned_responses_in_order_and_escaped(
        server: InProcessServer, tokens: list[str]) -> None:
    admin = server.agent("ada@example.com", "Ada", role="admin")
    for shortcut, text in (("thanks", "Thank you!"), ("refund-policy", f"Refunds: {MARKUP}")):
        added = httpx.post(server.url + "/api/canned", json={"shortcut": shortcut, "text": text},
                           headers={"Authorization": f"Bearer {admin}"}, timeout=10)
        assert added.status_code == 201, added.text
    _, _, conversation_id = await chat_with_ann(server, tokens[0])
    shown = pane(signed_in(server, "ann@example.com"), conversation_id).text
    # Each hidden until canned.js shows it for the `/word` typed.
    options = re.findall(r'<li class="canned-item" id="canned-\d+" role="option" '
                         r'aria-selected="false" data-shortcut="([^"]+)" hidden>\s*'
                         r'<span class="canned-key">/([^<]+)</span> '
                         r'<span class="canned-text">([^<]*)</span>', shown)
    assert options == [("refund-policy", "refund-policy", f"Refunds: {ESCAPED}"),
                       ("thanks", "thanks", "Thank you!")]
    assert MARKUP not in shown
    # No composer, no canned responses: a chat Bob may only read.
    assert "canned-item" not in pane(signed_in(server, "bob@example.com"), conversation_id).text


async def test_a_queued_chat_is_claimed_over_http(
        server: InProcessServer, tokens: list[str]) -> None:
    await agent(server, tokens[1], available=False)  # Bob is online, away: nothing routed
    _, conversation_id = await start_chat(server, "Anyone there?")
    bob = signed_in(server, "bob@example.com")
    queued = pane(bob, conversation_id)
    assert banner_of(queued).startswith("Waiting in the queue: read-only until you claim it.")
    assert 'data-testid="claim-shown"' in queued.text and "#1 in the queue." in queued.text

    bob.csrf = "wrong"
    assert bob.post(f"/console/parts/conversation/{conversation_id}/claim").status_code == 403
    bob = signed_in(server, "bob@example.com")
    claimed = bob.post(f"/console/parts/conversation/{conversation_id}/claim")
    assert claimed.status_code == 200, claimed.text
    assert 'data-mine="true"' in claimed.text and "data-banner" not in claimed.text


async def test_transfer_and_close_answer_with_the_pane_or_why_not(
        server: InProcessServer, tokens: list[str]) -> None:
    _, _, conversation_id = await chat_with_ann(server, tokens[0])
    path = f"/console/parts/conversation/{conversation_id}"
    refused = signed_in(server, "bob@example.com").post(path + "/close")
    assert refused.status_code == 409
    assert 'data-testid="pane-error"' in refused.text and "not assigned to you" in refused.text
    unclear = signed_in(server, "ann@example.com").post(path + "/transfer", to=MARKUP)
    assert unclear.status_code == 409 and MARKUP not in unclear.text
    assert signed_in(server, "ann@example.com").post(path + "/delete").status_code == 404

    ann = signed_in(server, "ann@example.com")
    ann.post("/console/parts/presence", status="away")  # else the queue hands it back at once
    requeued = ann.post(path + "/transfer", to="queue")
    assert requeued.status_code == 200, requeued.text
    assert banner_of(requeued).startswith("Waiting in the queue")
    claimed = signed_in(server, "ann@example.com").post(path + "/claim")
    assert 'data-mine="true"' in claimed.text
    closed = signed_in(server, "ann@example.com").post(path + "/close")
    assert closed.status_code == 200, closed.text
    assert re.fullmatch(r"This chat is closed \(\d+ \w+, \d\d:\d\d\); Ann handled it\. "
                        r"Read-only\.", banner_of(closed))


async def test_newer_messages_come_alone_for_appending(
        server: InProcessServer, tokens: list[str]) -> None:
    ann, maya, conversation_id = await chat_with_ann(server, tokens[0])
    await say(ann, conversation_id, "Looking")
    await say(ann, conversation_id, "a note", private=True)
    await maya.send("message", client_id="second", text=MARKUP)
    await maya.expect("ack", client_id="second")
    console = signed_in(server, "ann@example.com")
    path = f"/console/parts/conversation/{conversation_id}/messages"
    newer = get(console, path + "?after=3&after_note=1")  # 2 is "Ann joined"
    assert items(newer) == ["msg-4"]
    assert MARKUP not in newer.text and ESCAPED in newer.text
    assert items(get(console, path + "?after=2")) == ["msg-3", "note-1", "msg-4"]
    # each answer says what to ask after next, out of band; the pane says it first
    after = r'id="transcript-after" name="after" value="4" hx-swap-oob="true"'
    after_note = r'id="transcript-after-note" name="after_note" value="1" hx-swap-oob="true"'
    for answer in (newer, get(console, path + "?after=4&after_note=1")):
        assert re.search(after, answer.text) and re.search(after_note, answer.text)
    assert items(get(console, path))[-3:] == ["msg-3", "note-1", "msg-4"]  # all of it
    assert 'id="transcript-after" name="after" value="4">' in pane(console, conversation_id).text
    assert get(console, path + "?after=two").status_code == 400
    assert get(console, f"/console/parts/conversation/{conversation_id + 100}/messages"
               ).status_code == 404


async def test_back_empties_the_pane(server: InProcessServer, tokens: list[str]) -> None:
    await agent(server, tokens[0])
    empty = get(signed_in(server, "ann@example.com"), "/console/parts/empty")
    assert "No conversation selected" in empty.text and "conv-part" not in empty.text


async def test_presence_is_switched_over_http(server: InProcessServer,
                                              tokens: list[str]) -> None:
    await agent(server, tokens[0])
    ann = signed_in(server, "ann@example.com")
    away = ann.post("/console/parts/presence", status="away")
    assert away.status_code == 200, away.text
    assert 'data-status="away"' in away.text and '"status": "available"' in away.text
    assert ann.post("/console/parts/presence", status=MARKUP).status_code == 400
    # as it is now, for the page whose other tab switched it
    assert 'data-status="away"' in get(ann, "/console/parts/presence").text


async def test_the_transfer_menu_lists_who_is_available_now_and_only_for_my_chat(
        server: InProcessServer, tokens: list[str]) -> None:
    _, _, conversation_id = await chat_with_ann(server, tokens[0])
    path = f"/console/parts/conversation/{conversation_id}/transfer"
    ann = signed_in(server, "ann@example.com")
    assert "Nobody else is available" in get(ann, path).text
    bob = await agent(server, tokens[1])
    await bob.send("presence", status="available")
    await bob.expect("team")
    menu = get(ann, path).text
    assert ">Bob (0/" in menu and 'data-targets="' in menu
    bobs = get(signed_in(server, "bob@example.com"), path).text  # not his chat: nobody to pick
    assert "Nobody else is available" in bobs and ">Ann (" not in bobs
    assert get(ann, f"/console/parts/conversation/{conversation_id + 100}/transfer"
               ).status_code == 404


async def test_a_file_in_the_transcript_shows_its_thumbnail_and_name_escaped(
        server: InProcessServer, tokens: list[str]) -> None:
    ann = await agent(server, tokens[0])
    maya, welcome = await visitor(server, name="Maya")
    uploaded = httpx.post(f"{server.url}/api/attachments", timeout=10,
                          files={"file": (f"{MARKUP}.png", image("PNG"))},
                          headers={"X-Visitor-Token": welcome["token"]})
    assert uploaded.status_code == 201, uploaded.text
    await maya.send("message", client_id="photo", text="",
                    attachment_id=uploaded.json()["attachment"]["id"])
    conversation_id = (await maya.expect("ack", client_id="photo"))["conversation_id"]
    await ann.expect("assigned")

    shown = pane(signed_in(server, "ann@example.com"), conversation_id).text
    name = html.escape(uploaded.json()["attachment"]["name"])  # as the server kept it
    assert MARKUP not in shown and f'alt="{name}"' in shown
    assert f'<span class="msg-file-name">{name}</span>' in shown
    link = re.search(r'<a class="msg-file" href="(/api/attachments/\d+\?[^"]+)"', shown)
    assert link is not None, shown
    assert f'src="{link.group(1)}&amp;thumbnail=1"' in shown
    assert "image/png" in shown and 'class="msg-text"' not in shown.split('id="msg-1"')[1][:400]
    thumbnail = httpx.get(server.url + link.group(1).replace("&amp;", "&") + "&thumbnail=1",
                          timeout=10)
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"].startswith("image/")


async def test_a_chat_opened_from_a_search_has_the_words_marked(
        server: InProcessServer, tokens: list[str]) -> None:
    ann = await agent(server, tokens[0])
    _maya, conversation_id = await start_chat(server, "My parcel <b>tracking</b> is stuck")
    await ann.expect("assigned")
    ann_console = signed_in(server, "ann@example.com")
    shown = get(ann_console, f"/console/parts/conversation/{conversation_id}?q=parc+TRACK").text
    assert ("My <mark>parcel</mark> &lt;b&gt;<mark>tracking</mark>&lt;/b&gt; is stuck"
            in shown)
    assert f'hx-get="/console/parts/conversation/{conversation_id}/messages?q=parc%20TRACK"' \
        in shown  # what comes later is marked too
    assert "<mark>" not in pane(ann_console, conversation_id).text


async def test_the_headers_details_are_read_alone_as_the_wait_goes_on(
        server: InProcessServer, tokens: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ann = await agent(server, tokens[0])
    _maya, conversation_id = await start_chat(server, MARKUP, name=MARKUP)
    await ann.expect("assigned")
    path = f"/console/parts/conversation/{conversation_id}/details"
    ann_console = signed_in(server, "ann@example.com")
    assert "waiting &lt;1m" in get(ann_console, path).text
    later = clock.now() + 200  # past the 120 s the server flags at
    monkeypatch.setattr(clock, "now", lambda: later)
    flagged = get(ann_console, path).text
    assert 'data-testid="unanswered-flag">Waiting 3m — unanswered<' in flagged
    assert MARKUP not in flagged and f"Chat #{conversation_id}" in flagged
    await say(ann, conversation_id, "On it")
    assert "waiting" not in get(ann_console, path).text.lower()
    assert get(ann_console, f"/console/parts/conversation/{conversation_id + 100}/details"
               ).status_code == 404
