"""Files in the console, in a real Chromium: a visitor's photo shows in the agent's transcript
as the server's thumbnail, live; the agent attaches a PDF from the composer and the visitor
receives a message that carries it; a file the server refuses says why, with Retry."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import BrowserContext, expect

from tests.attachment_files import HTML, PDF, image
from tests.browser.test_console import (  # noqa: F401 (fixtures)
    VisitorClient,
    agent,
    go_available,
    open_chat,
    sign_in,
    transcript_message,
    visitors,
)
from tests.conftest import LiveServer


def send_file(live_server: LiveServer, visitor: VisitorClient, name: str, data: bytes,
              text: str = "") -> dict[str, object]:
    """What the widget does: upload with the visitor's token, then a message carrying it."""
    uploaded = httpx.post(f"{live_server.url}/api/attachments", files={"file": (name, data)},
                          headers={"X-Visitor-Token": visitor.welcome["token"]}, timeout=10)
    assert uploaded.status_code == 201, uploaded.text
    client_id = str(uuid.uuid4())
    visitor.ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text,
                                "attachment_id": uploaded.json()["attachment"]["id"]}))
    return visitor.wait_for(lambda f: f["type"] == "ack" and f["client_id"] == client_id)


def test_a_visitors_photo_shows_live_and_the_agent_sends_a_pdf(
        live_server: LiveServer, agent: str, context: BrowserContext,  # noqa: F811
        visitors: Callable[..., VisitorClient], tmp_path: Path) -> None:  # noqa: F811
    page = context.new_page()
    sign_in(page, live_server.url)
    go_available(page)
    visitor = visitors(name="Grace")
    conversation_id = visitor.say("My parcel arrived broken")["conversation_id"]
    open_chat(page, conversation_id)

    # The photo arrives while the chat is open: its thumbnail appears, linking to the file.
    send_file(live_server, visitor, "parcel.jpg", image("JPEG", (400, 300)), "Look at this")
    photo = transcript_message(page, "Look at this").get_by_test_id("attachment")
    expect(photo).to_contain_text("parcel.jpg")
    expect(photo).to_contain_text("image/jpeg")
    thumbnail = photo.locator("img")
    expect(thumbnail).to_have_attribute("alt", "parcel.jpg")
    expect(thumbnail).to_have_js_property("complete", True)
    assert thumbnail.evaluate("img => img.naturalWidth") > 0  # the server's thumbnail loaded

    # Ada attaches a receipt from the composer: the visitor gets a message carrying it.
    receipt = tmp_path / "receipt.pdf"
    receipt.write_bytes(PDF)
    page.get_by_test_id("attach").set_input_files(str(receipt))
    sent = transcript_message(page, "receipt.pdf")
    expect(sent).to_have_attribute("data-state", "sent")
    expect(sent.get_by_test_id("attachment")).to_contain_text("application/pdf")
    got = visitor.wait_for(lambda f: f["type"] == "message" and f.get("attachment"))
    assert got["author"]["role"] == "agent" and got["attachment"]["name"] == "receipt.pdf"
    served = httpx.get(live_server.url + got["attachment"]["url"], timeout=10)
    assert served.status_code == 200 and served.content == PDF

    # A web page renamed .png is refused before it is sent, with the server's reason.
    fake = tmp_path / "photo.png"
    fake.write_bytes(HTML)
    page.get_by_test_id("attach").set_input_files(str(fake))
    refused = transcript_message(page, "photo.png")
    expect(refused).to_contain_text("Not sent")
    expect(refused.get_by_role("button", name="Retry")).to_be_visible()
    refused.get_by_role("button", name="Discard").click()
    expect(refused).to_have_count(0)
    later = visitor.frames_within(0.5)
    assert not [f for f in later if f["type"] == "message" and f.get("attachment")], later
