"""Attachments carried by messages, over real sockets, on each backend: a visitor's and an
agent's file reach the other side with a fresh signed url; a file is sent once, by its
uploader; a resend posts nothing twice; transcripts show files by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.attachment_files import PDF, image
from tests.web.conftest import InProcessServer, Peer, agent, every_backend, visitor
from tests.web.test_attachments import kept, upload

backend = every_backend


async def visitor_with_file(server: InProcessServer, name: str = "photo.png",
                            data: bytes | None = None) -> tuple[Peer, str, dict[str, Any]]:
    """A visitor socket, its token, and a file it uploaded (not yet sent)."""
    peer, welcome = await visitor(server)
    token = str(welcome["token"])
    attachment = kept(upload(server, data or image("PNG"), name, "image/png",
                             **{"X-Visitor-Token": token}))
    return peer, token, attachment


def fetched(server: InProcessServer, url: str) -> httpx.Response:
    return httpx.get(server.url + url, timeout=5)


async def test_a_visitors_file_reaches_the_agent_with_a_link_that_serves_it(
        server: InProcessServer) -> None:
    staff = await agent(server, server.agent("ann@example.com", "Ann"))
    peer, _token, attachment = await visitor_with_file(server)
    await peer.send("message", client_id="m1", text="", attachment_id=attachment["id"])
    ack = await peer.expect("ack", client_id="m1")
    assigned = (await staff.expect("assigned"))["conversation"]
    first = assigned["messages"][0]
    assert first["text"] == ""
    carried = first["attachment"]
    assert {k: carried[k] for k in ("id", "name", "content_type", "size")} == {
        k: attachment[k] for k in ("id", "name", "content_type", "size")}
    assert fetched(server, carried["url"]).status_code == 200
    assert fetched(server, carried["url"] + "&thumbnail=1").headers["content-type"] == \
        "image/png"
    # a second file while the chat is the agent's: a `message` frame carries it
    second = kept(upload(server, PDF, "receipt.pdf",
                         **{"X-Visitor-Token": _token}))
    await peer.send("message", client_id="m2", text="my receipt", attachment_id=second["id"])
    await peer.expect("ack", client_id="m2", conversation_id=ack["conversation_id"])
    heard = await staff.expect("message", client_id="m2")
    assert heard["attachment"]["name"] == "receipt.pdf"
    assert heard["text"] == "my receipt"
    assert fetched(server, heard["attachment"]["url"]).content == PDF


async def test_a_resent_message_with_a_file_posts_once(server: InProcessServer) -> None:
    peer, _token, attachment = await visitor_with_file(server)
    await peer.send("message", client_id="same", text="", attachment_id=attachment["id"])
    first = await peer.expect("ack", client_id="same")
    await peer.send("message", client_id="same", text="", attachment_id=attachment["id"])
    again = await peer.expect("ack", client_id="same")
    assert again["seq"] == first["seq"] == 1
    _peer, welcome = await visitor(server, _token)
    assert [m["seq"] for m in welcome["messages"]] == [1]


async def test_a_file_is_sent_once_and_only_by_its_uploader(server: InProcessServer) -> None:
    peer, _token, attachment = await visitor_with_file(server)
    other, _ = await visitor(server)
    await other.send("message", client_id="theirs", text="", attachment_id=attachment["id"])
    refused = await other.expect("error", client_id="theirs")
    assert refused["code"] == "forbidden"
    await other.send("message", client_id="unknown", text="x", attachment_id=999_999)
    assert (await other.expect("error", client_id="unknown"))["code"] == "forbidden"
    await peer.send("message", client_id="a", text="", attachment_id=attachment["id"])
    await peer.expect("ack", client_id="a")
    await peer.send("message", client_id="b", text="again", attachment_id=attachment["id"])
    twice = await peer.expect("error", client_id="b")
    assert twice["code"] == "conflict" and "upload" in twice["message"]
    _peer, welcome = await visitor(server, _token)
    assert [m["client_id"] for m in welcome["messages"]] == ["a"]  # nothing else stored


async def test_a_message_needs_text_or_a_file(server: InProcessServer) -> None:
    peer, _ = await visitor(server)
    await peer.send("message", client_id="empty", text="")
    refused = await peer.expect("error", client_id="empty")
    assert refused["code"] == "bad_request" and "attachment_id" in refused["message"]


async def test_an_agents_file_reaches_the_visitor_and_comes_back_fresh_with_welcome(
        server: InProcessServer) -> None:
    token = server.agent("ann@example.com", "Ann")
    staff = await agent(server, token)
    peer, welcome = await visitor(server)
    await peer.send("message", client_id="hi", text="hello")
    conversation_id = (await peer.expect("ack", client_id="hi"))["conversation_id"]
    await staff.expect("assigned")
    attachment = kept(upload(server, PDF, "invoice.pdf", Authorization=f"Bearer {token}"))
    await staff.send("message", conversation_id=conversation_id, client_id="doc", text="",
                     attachment_id=attachment["id"])
    await staff.expect("ack", client_id="doc")
    heard = await peer.expect("message", client_id="doc")
    assert heard["attachment"]["name"] == "invoice.pdf"
    _again, resumed = await visitor(server, welcome["token"])
    shown = resumed["messages"][-1]["attachment"]
    assert shown["id"] == attachment["id"]
    assert fetched(server, shown["url"]).content == PDF
    # the conversation's API and its text transcript show it too
    record = server.get(f"/api/conversations/{conversation_id}", token).json()
    assert record["messages"][-1]["attachment"]["name"] == "invoice.pdf"
    text = server.get(f"/api/conversations/{conversation_id}/transcript.txt", token).text
    assert f"Ann (agent): [attachment: invoice.pdf, application/pdf, {len(PDF)} B]" in text


async def test_an_agent_cannot_send_a_visitors_file(server: InProcessServer) -> None:
    staff = await agent(server, server.agent("ann@example.com", "Ann"))
    peer, _token, attachment = await visitor_with_file(server)
    await peer.send("message", client_id="hi", text="hello")
    conversation_id = (await peer.expect("ack", client_id="hi"))["conversation_id"]
    await staff.expect("assigned")
    await staff.send("message", conversation_id=conversation_id, client_id="steal", text="",
                     attachment_id=attachment["id"])
    assert (await staff.expect("error", client_id="steal"))["code"] == "forbidden"


async def test_a_server_keeping_files_in_a_directory_serves_them_the_same(
        serve: Callable[..., InProcessServer], tmp_path: Path) -> None:
    server = serve(attachments_dir=str(tmp_path / "files"))
    staff = await agent(server, server.agent("ann@example.com", "Ann"))
    peer, _token, attachment = await visitor_with_file(server)
    [kept] = (tmp_path / "files").iterdir()
    await peer.send("message", client_id="m1", text="", attachment_id=attachment["id"])
    await peer.expect("ack", client_id="m1")
    carried = (await staff.expect("assigned"))["conversation"]["messages"][0]["attachment"]
    served = fetched(server, carried["url"])
    assert served.status_code == 200 and served.content == kept.read_bytes()
    assert fetched(server, carried["url"] + "&thumbnail=1").status_code == 200
