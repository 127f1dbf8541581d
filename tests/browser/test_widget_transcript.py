"""A visitor downloads their own transcript from the widget, in a real browser on a page of
another origin: the ended chat's "Download transcript" saves a zip holding what was said (no
private note) and the file the visitor sent."""

from __future__ import annotations

import io
import zipfile

from playwright.sync_api import BrowserContext, expect

from tests.attachment_files import image
from tests.browser import test_widget
from tests.browser.test_widget import AgentClient, HostSite, bubble, part, say
from tests.browser.test_widget_attachments import attach
from tests.conftest import LiveServer

# test_widget's fixtures: a host site on its own origin, chat servers, socket agents
host = test_widget.host
serve = test_widget.serve
agents = test_widget.agents
staffed = test_widget.staffed


def test_a_visitor_downloads_the_ended_chat_with_its_file(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = host.tab(context, server)
    say(page, "Is my parcel on its way?")
    conversation_id = agent.assigned()
    agent.say(conversation_id, "Yes, it left today.")
    agent.send("message", conversation_id=conversation_id, client_id="note-1",
               text="SECRET: second time asking", private=True)
    agent.wait_for(lambda f: f["type"] == "ack" and f.get("client_id") == "note-1")
    attach(page, "label.png", image("PNG"))
    expect(part(page, ".cs-msg[data-role='visitor'] img")).to_have_attribute("alt", "label.png")
    expect(bubble(page, "left today", "agent")).to_be_visible()
    agent.send("close", conversation_id=conversation_id)
    expect(part(page, ".cs-status")).to_have_text("This chat has ended")

    with page.expect_download() as downloading:
        part(page, ".cs-rating").get_by_role("button", name="Download transcript").click()
    download = downloading.value
    assert download.suggested_filename == "transcript.zip"
    with open(download.path(), "rb") as saved, \
            zipfile.ZipFile(io.BytesIO(saved.read())) as archive:
        text = archive.read("transcript.txt").decode()
        files = [n for n in archive.namelist() if n.startswith("attachments/")]
    assert "Is my parcel on its way?" in text and "Yes, it left today." in text
    assert "[attachment: label.png, image/png" in text
    assert "SECRET" not in text
    assert [n.endswith("-label.png") for n in files] == [True]
