"""A visitor downloads their own transcript over a real server, on each backend: a zip of
`transcript.txt` (all their conversations, never a private note) and the files sent in them,
or the text alone; only with their own token; from the shop's site when it is allowed."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import httpx

from chatserver.config import Limit
from tests.attachment_files import PDF
from tests.web.conftest import InProcessServer, Peer, agent, every_backend, visitor
from tests.web.test_attachments import kept, upload

backend = every_backend
PATH = "/api/visitor/transcript"


def download(server: InProcessServer, token: str | None, query: str = "",
             **headers: str) -> httpx.Response:
    if token is not None:
        headers["X-Visitor-Token"] = token
    return httpx.get(server.url + PATH + query, headers=headers, timeout=10)


async def said(peer: Peer, client_id: str, text: str, **fields: object) -> int:
    await peer.send("message", client_id=client_id, text=text, **fields)
    return int((await peer.expect("ack", client_id=client_id))["conversation_id"])


async def two_chats(server: InProcessServer) -> tuple[str, dict[str, object], int]:
    """A visitor sends a file in a chat Ann answers (and notes), ends it, starts another;
    their token, the file, and the second conversation's id."""
    staff = await agent(server, server.agent("ann@example.com", "Ann"))
    peer, welcome = await visitor(server)
    token = str(welcome["token"])
    attachment = kept(upload(server, PDF, "receipt.pdf", **{"X-Visitor-Token": token}))
    first = await said(peer, "v1", "my receipt", attachment_id=attachment["id"])
    await staff.expect("assigned")
    await staff.send("message", conversation_id=first, client_id="a1", text="Thanks, looking")
    await staff.send("message", conversation_id=first, client_id="n1",
                     text="SECRET: refund risk", private=True)
    await staff.expect("ack", client_id="n1")
    await peer.send("close")
    await peer.expect("status", status="closed")
    second = await said(peer, "v2", "one more thing")
    return token, attachment, second


async def test_the_zip_holds_every_conversation_and_the_files_but_no_note(
        server: InProcessServer) -> None:
    token, attachment, second = await two_chats(server)
    got = download(server, token)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/zip"
    assert got.headers["content-disposition"] == \
        f'attachment; filename="transcript-{second}.zip"'
    with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
        text = archive.read("transcript.txt").decode()
        assert archive.read(f"attachments/{attachment['id']}-receipt.pdf") == PDF
        assert len(archive.namelist()) == 2
    assert "my receipt [attachment: receipt.pdf, application/pdf" in text
    assert "Ann (agent): Thanks, looking" in text
    assert "one more thing" in text
    assert text.index("my receipt") < text.index("one more thing")  # oldest first
    assert "SECRET" not in text and "private note" not in text


async def test_the_text_alone_with_format_txt(server: InProcessServer) -> None:
    token, _attachment, second = await two_chats(server)
    got = download(server, token, "?format=txt")
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/plain; charset=utf-8"
    assert got.headers["content-disposition"] == \
        f'attachment; filename="transcript-{second}.txt"'
    assert "one more thing" in got.text and "SECRET" not in got.text
    assert download(server, token, "?format=pdf").status_code == 422


async def test_only_the_visitors_own_token_gets_their_transcript(
        server: InProcessServer) -> None:
    await two_chats(server)
    other, welcome = await visitor(server)
    others = str(welcome["token"])
    assert download(server, others).json()["error"]["code"] == "not_found"  # nothing yet
    await said(other, "o1", "hello from someone else")
    with zipfile.ZipFile(io.BytesIO(download(server, others).content)) as archive:
        assert archive.namelist() == ["transcript.txt"]
        text = archive.read("transcript.txt").decode()
    assert "hello from someone else" in text and "my receipt" not in text
    for token in (None, "not-a-token", ""):
        refused = download(server, token)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"


async def test_a_widget_on_an_allowed_site_may_ask_with_its_token_header(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(allowed_origins=("https://shop.example",))
    asked = httpx.options(server.url + PATH, timeout=5, headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-visitor-token"})
    assert asked.status_code == 204
    assert asked.headers["access-control-allow-methods"] == "GET"
    assert asked.headers["access-control-allow-headers"] == "X-Visitor-Token"
    refused = download(server, "nobody", Origin="https://shop.example")
    assert refused.status_code == 401  # readable by the widget, to say so
    assert refused.headers["access-control-allow-origin"] == "https://shop.example"
    elsewhere = download(server, "nobody", Origin="https://evil.example")
    assert "access-control-allow-origin" not in elsewhere.headers


async def test_a_visitor_downloads_a_few_copies_an_hour(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(transcript_download_limit=Limit(2, 3600))
    peer, welcome = await visitor(server)
    await said(peer, "v1", "hello")
    token = str(welcome["token"])
    assert [download(server, token).status_code for _ in range(2)] == [200, 200]
    refused = download(server, token, "?format=txt")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "try again in" in refused.json()["error"]["message"]
    other, again = await visitor(server)
    await said(other, "o1", "hi")
    assert download(server, str(again["token"])).status_code == 200  # counted per visitor
