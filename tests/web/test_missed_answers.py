"""Nobody waits without knowing: expected waits, emailed answers and transcripts, widget
settings in `welcome`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import Inbox
from tests.web.conftest import InProcessServer, Peer, agent, visitor


async def chat_with_email(server: InProcessServer,
                          email: str | None) -> tuple[Peer, int, Peer]:
    staff = await agent(server, server.agent("ann@example.com", "Ann"))
    hello = {"email": email, "name": "Maya"} if email else {}
    peer, _ = await visitor(server, **hello)
    await peer.send("message", client_id="q", text="Is the course downloadable?")
    conversation_id = (await peer.expect("ack"))["conversation_id"]
    await staff.expect("assigned")
    return peer, conversation_id, staff


async def test_an_answer_to_a_visitor_who_left_is_emailed(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    server = serve(smtp_url=inbox.url, email_delay=0.3)
    peer, conversation_id, staff = await chat_with_email(server, "maya@example.com")
    await peer.close()  # the visitor leaves before the answer
    for n, text in enumerate(["Yes, every lesson has a download button.", "Anything else?"]):
        await staff.send("message", conversation_id=conversation_id, client_id=f"a{n}",
                         text=text)
    [mail] = await asyncio.to_thread(inbox.wait_for, 1)
    assert mail["To"] == "maya@example.com"
    assert "support@shop.example" in mail["From"]
    body = mail.get_content()
    assert "Yes, every lesson has a download button." in body and "Anything else?" in body
    await asyncio.sleep(0.6)
    assert len(inbox.messages) == 1  # one email for the answers of that while, not one each


async def test_a_visitor_still_in_the_chat_gets_no_email(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    server = serve(smtp_url=inbox.url, email_delay=0.2)
    peer, conversation_id, staff = await chat_with_email(server, "maya@example.com")
    await staff.send("message", conversation_id=conversation_id, client_id="a", text="Yes!")
    await peer.expect("message", text="Yes!")
    await asyncio.sleep(0.6)
    assert inbox.messages == []


async def test_a_visitor_who_left_no_email_gets_no_email(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    server = serve(smtp_url=inbox.url, email_delay=0.2)
    peer, conversation_id, staff = await chat_with_email(server, None)
    await peer.close()
    await staff.send("message", conversation_id=conversation_id, client_id="a", text="Yes!")
    await staff.expect("ack")
    await asyncio.sleep(0.6)
    assert inbox.messages == []


async def test_after_a_chat_closes_the_visitor_can_have_the_transcript_emailed(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    server = serve(smtp_url=inbox.url)
    peer, conversation_id, staff = await chat_with_email(server, "maya@example.com")
    await staff.send("message", conversation_id=conversation_id, client_id="a",
                     text="Here is your download link.")
    await staff.send("close", conversation_id=conversation_id)
    await peer.expect("status", status="closed")
    await peer.send("email_transcript", email="other@example.com")
    emailed = await peer.expect("emailed")
    assert emailed == {"type": "emailed", "conversation_id": conversation_id,
                       "email": "other@example.com"}
    [mail] = await asyncio.to_thread(inbox.wait_for, 1)
    assert mail["To"] == "other@example.com"
    body = mail.get_content()
    assert "Is the course downloadable?" in body and "Here is your download link." in body


async def test_a_transcript_to_something_that_is_not_an_address_is_a_bad_request(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    server = serve(smtp_url=inbox.url)
    peer, _, _ = await chat_with_email(server, "maya@example.com")
    for bad in ("a@b.c\r\nBcc: evil@example.com", "not an address", "x" * 400 + "@b.c"):
        await peer.send("email_transcript", email=bad)
        error = await peer.expect("error")
        assert error["code"] == "bad_request" and "email" in error["message"]
    await peer.send("ping")
    await peer.expect("pong")  # the socket stays open
    assert inbox.messages == []


async def test_a_typed_email_with_a_line_break_is_never_mailed_and_the_socket_stays(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    server = serve(smtp_url=inbox.url)
    peer, _, _ = await chat_with_email(server, "maya@example.com\r\nBcc: evil@example.com")
    await peer.send("email_transcript")  # to the address typed at hello
    error = await peer.expect("error")
    assert error["code"] == "bad_request" and "one email address" in error["message"]
    await peer.send("ping")
    await peer.expect("pong")
    await asyncio.sleep(0.3)
    assert inbox.messages == []


async def test_an_answer_is_never_emailed_to_a_list_typed_at_hello(
        serve: Callable[..., InProcessServer], inbox: Inbox,
        caplog: pytest.LogCaptureFixture) -> None:
    server = serve(smtp_url=inbox.url, email_delay=0.1)
    peer, conversation_id, staff = await chat_with_email(
        server, "maya@example.com, stranger@example.com")
    await peer.close()
    await staff.send("message", conversation_id=conversation_id, client_id="a", text="Yes!")
    async with asyncio.timeout(5):  # until the mailer has refused it
        while not any("could not email" in r.getMessage() for r in caplog.records):
            await asyncio.sleep(0.02)
    assert inbox.messages == []


async def test_a_transcript_without_smtp_is_refused_clearly(server: InProcessServer) -> None:
    peer, _ = await visitor(server, email="maya@example.com")
    await peer.send("message", client_id="q", text="hi")
    await peer.expect("ack")
    await peer.send("email_transcript")
    error = await peer.expect("error")
    assert error["code"] == "unavailable" and "email" in error["message"]


async def test_queued_visitors_are_told_how_long_the_wait_should_be(
        server: InProcessServer) -> None:
    first, _ = await visitor(server)
    await first.send("message", client_id="q", text="first")
    assert (await first.expect("status"))["expected_wait_seconds"] is None  # nothing to go by
    await asyncio.sleep(0.3)
    await agent(server, server.agent("ann@example.com", "Ann", capacity=1))
    await first.expect("status", status="active")  # waited about 0.3 s
    second, _ = await visitor(server)
    await second.send("message", client_id="q", text="second")
    await second.expect("status", status="queued")  # first in line (then the third comes)
    third, _ = await visitor(server)
    await third.send("message", client_id="q", text="third")
    waiting = await third.expect("status", status="queued")
    assert waiting["queue_position"] == 2
    assert waiting["expected_wait_seconds"] is not None and waiting["expected_wait_seconds"] >= 0


def admin_put(server: InProcessServer, token: str, body: object) -> httpx.Response:
    return httpx.put(server.url + "/api/widget-settings", json=body,
                     headers={"Authorization": f"Bearer {token}"})


async def test_an_admin_sets_the_widget_and_visitors_get_it_in_welcome(
        server: InProcessServer) -> None:
    admin = server.agent("root@example.com", "Root", role="admin")
    changed = admin_put(server, admin, {"prechat": "required", "color": "#112233",
                                        "reply_time": "We reply within a day."})
    assert changed.status_code == 200 and changed.json()["widget"]["prechat"] == "required"
    _, welcome = await visitor(server)
    assert welcome["widget"]["prechat"] == "required"
    assert welcome["widget"]["color"] == "#112233"
    assert welcome["widget"]["reply_time"] == "We reply within a day."
    public = httpx.get(server.url + "/api/widget-settings").json()["widget"]
    assert public == welcome["widget"]


async def test_visitors_are_told_whether_the_server_sends_email(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    for smtp_url, enabled in ((None, False), (inbox.url, True)):
        server = serve(smtp_url=smtp_url)
        _, welcome = await visitor(server)
        assert welcome["email_enabled"] is enabled
        public = httpx.get(server.url + "/api/widget-settings").json()
        assert public["email_enabled"] is enabled
        # The default offline message promises an answer by email only when there is one.
        assert ("email" in welcome["widget"]["offline_message"]) is enabled
        assert public["widget"] == welcome["widget"]


def test_only_an_admin_changes_the_widget_and_bad_values_are_refused(
        server: InProcessServer) -> None:
    agent_token = server.agent("ann@example.com", "Ann")
    admin = server.agent("root@example.com", "Root", role="admin")
    assert admin_put(server, agent_token, {"prechat": "off"}).status_code == 403
    for bad in ({"color": "red"}, {"prechat": "always"}, {"font": "Comic Sans"}, [1]):
        response = admin_put(server, admin, bad)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "invalid"
    assert httpx.get(server.url + "/api/widget-settings").json()["widget"]["prechat"] == "off"
