"""Transcript emails as an attacker would try them: lists of strangers, one address over and
over, a widget title that breaks the From header, text typed to look like an agent's line."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from chatserver.config import Limit
from tests.conftest import Inbox
from tests.web.conftest import InProcessServer, Peer, visitor
from tests.web.test_missed_answers import admin_put, chat_with_email


async def visitor_with_a_chat(server: InProcessServer, **hello: str) -> Peer:
    peer, _ = await visitor(server, **hello)
    await peer.send("message", client_id="q", text="Can I get a copy of this chat?")
    await peer.expect("ack")
    return peer


async def test_a_transcript_goes_to_one_plain_address_never_a_list_or_a_name(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    server = serve(smtp_url=inbox.url)
    peer = await visitor_with_a_chat(server)
    for bad in ("<maya@example.com>", "Maya <maya@example.com>", "maya(x)@example.com",
                "maya@example.com>", '"maya"@example.com', "maya@example.com,b@x.example",
                "maya@example.com\nBcc: evil@example.com", "maya@localhost"):
        await peer.send("email_transcript", email=bad)
        error = await peer.expect("error")
        assert error["code"] == "bad_request", bad
        assert "one email address" in error["message"], bad
    await peer.send("email_transcript", email="maya.lee+chat@example.com")
    assert (await peer.expect("emailed"))["email"] == "maya.lee+chat@example.com"
    await asyncio.to_thread(inbox.wait_for, 1)
    assert inbox.envelopes == [("support@shop.example", ["maya.lee+chat@example.com"])]


async def test_an_email_typed_at_hello_naming_several_people_mails_none_of_them(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    server = serve(smtp_url=inbox.url)
    peer = await visitor_with_a_chat(
        server, email="a@example.com, b@example.com, c@example.com")
    await peer.send("email_transcript")  # to the address typed at hello
    error = await peer.expect("error")
    assert error["code"] == "bad_request" and "one email address" in error["message"]
    await peer.send("ping")
    await peer.expect("pong")  # the socket stays open
    assert inbox.messages == []


async def test_a_visitor_cannot_mail_transcripts_to_stranger_after_stranger(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    server = serve(smtp_url=inbox.url)  # the default limit: 5 an hour
    peer = await visitor_with_a_chat(server)
    for n in range(5):
        await peer.send("email_transcript", email=f"stranger{n}@example.com")
        await peer.expect("emailed")
    await peer.send("email_transcript", email="stranger5@example.com")
    error = await peer.expect("error")
    assert error["code"] == "rate_limited" and "try again in" in error["message"]
    await asyncio.to_thread(inbox.wait_for, 5)
    await peer.send("ping")
    await peer.expect("pong")
    assert len(inbox.messages) == 5
    assert "stranger5@example.com" not in [to for _, [to] in inbox.envelopes]


async def test_one_address_gets_few_transcripts_whichever_visitors_ask(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    server = serve(smtp_url=inbox.url, transcript_email_limit=Limit(2, 3600))
    first, second = [await visitor_with_a_chat(server) for _ in range(2)]
    for peer in (first, second):
        await peer.send("email_transcript", email="victim@example.com")
        await peer.expect("emailed")
    await first.send("email_transcript", email="Victim@Example.com")
    assert (await first.expect("error"))["code"] == "rate_limited"
    # the refusal did not use up the visitor's own allowance
    await first.send("email_transcript", email="maya@example.com")
    assert (await first.expect("emailed"))["email"] == "maya@example.com"
    await asyncio.to_thread(inbox.wait_for, 3)
    assert sorted(to for _, [to] in inbox.envelopes) == [
        "maya@example.com", "victim@example.com", "victim@example.com"]


async def test_the_widget_title_is_the_senders_name_whatever_it_holds(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    server = serve(smtp_url=inbox.url)  # four emails: within the limit
    admin = server.agent("root@example.com", "Root", role="admin")
    peer = await visitor_with_a_chat(server)
    titles = {"Acme, Inc.": "Acme, Inc.", 'Say "hi" <now>': 'Say "hi" <now>',
              "Café Ünïcode; (support)": "Café Ünïcode; (support)",
              "Acme\r\nBcc: evil@example.com": "Acme Bcc: evil@example.com"}
    for title in titles:
        assert admin_put(server, admin, {"title": title}).status_code == 200
        await peer.send("email_transcript", email="maya@example.com")
        await peer.expect("emailed")
    mails = await asyncio.to_thread(inbox.wait_for, len(titles))
    for mail, shown in zip(mails, titles.values(), strict=True):
        [sender] = mail["From"].addresses
        assert (sender.display_name, sender.addr_spec) == (shown, "support@shop.example")
        assert [a.addr_spec for a in mail["To"].addresses] == ["maya@example.com"]
        assert mail["Subject"].startswith("Your conversation with " + shown)
        assert mail["Bcc"] is None
    assert inbox.envelopes == [("support@shop.example", ["maya@example.com"])] * len(titles)


async def test_a_line_typed_to_look_like_an_agents_is_indented_in_the_emailed_transcript(
        serve: Callable[..., InProcessServer], inbox: Inbox) -> None:
    server = serve(smtp_url=inbox.url)
    peer, _, _ = await chat_with_email(server, "maya@example.com")
    forged = "Thanks\n[2026-01-01 10:00 UTC] Ann (agent): Pay the fee at evil.example"
    await peer.send("message", client_id="forged", text=forged)
    await peer.expect("ack", client_id="forged")
    await peer.send("email_transcript")
    await peer.expect("emailed")
    [mail] = await asyncio.to_thread(inbox.wait_for, 1)
    lines = mail.get_content().splitlines()
    assert "  [2026-01-01 10:00 UTC] Ann (agent): Pay the fee at evil.example" in lines
    starts = [line.split("] ", 1)[1].split(":")[0] for line in lines if line.startswith("[")]
    assert starts == ["Maya (visitor)", "System (system)", "Maya (visitor)"]
