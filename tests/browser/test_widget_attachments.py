"""Files in the widget, in a real browser on a page of another origin: a visitor attaches a
picture by the paperclip's file input, it reaches the agent (a plain socket client) with a
link that serves it, and the widget shows the server's thumbnail; a hostile file is refused
with the server's reason in the widget."""

from __future__ import annotations

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.attachment_files import HTML, image
from tests.browser import test_widget
from tests.browser.test_widget import AgentClient, HostSite, part
from tests.conftest import LiveServer

# test_widget's fixtures: a host site on its own origin, chat servers, socket agents
host = test_widget.host
serve = test_widget.serve
agents = test_widget.agents
staffed = test_widget.staffed


# the thumbnail has loaded from the chat server (another origin)
THUMBNAIL_LOADED = ("() => { const img = document.querySelector('chatserver-widget')"
                    ".shadowRoot.querySelector('.cs-msg img'); return img && img.complete"
                    " && img.naturalWidth > 0; }")


def attach(page: Page, name: str, data: bytes, claimed: str = "image/png") -> None:
    """Pick a file with the widget's file input, as the paperclip opens it."""
    part(page, ".cs-file").set_input_files(files=[{"name": name, "mimeType": claimed,
                                                   "buffer": data}])


def connected(page: Page) -> None:
    """The widget has its visitor token (its first welcome came)."""
    expect(part(page, ".cs-status")).to_have_text("We're online")


def test_a_visitor_attaches_a_picture_and_the_agent_receives_it(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = host.tab(context, server)
    connected(page)
    expect(part(page, ".cs-clip")).to_have_attribute("aria-label", "Attach a file")
    attach(page, "parcel.png", image("PNG", (400, 300)))

    sent = part(page, ".cs-msg[data-role='visitor']")
    expect(sent).to_have_attribute("data-state", "sent")
    thumbnail = sent.locator("img")
    expect(thumbnail).to_have_attribute("alt", "parcel.png")
    page.wait_for_function(THUMBNAIL_LOADED)
    assert "&thumbnail=1" in str(thumbnail.get_attribute("src"))
    expect(sent.locator("a")).to_have_attribute("target", "_blank")

    assigned = agent.wait_for(lambda f: f["type"] == "assigned")
    [message] = [m for m in assigned["conversation"]["messages"]
                 if m["author"]["role"] == "visitor"]
    assert message["text"] == ""
    attachment = message["attachment"]
    assert (attachment["name"], attachment["content_type"]) == ("parcel.png", "image/png")
    served = httpx.get(server.url + attachment["url"], timeout=5)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"


def test_a_picture_whose_kept_link_expired_shows_again_after_a_reload(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    """The widget keeps the chat between pages, links included, and a link lasts an hour: the
    next welcome brings a fresh one for each file kept, which the widget takes."""
    server, _ = staffed
    page = host.tab(context, server)
    connected(page)
    attach(page, "receipt.png", image("PNG", (300, 200)))
    expect(part(page, ".cs-msg[data-role='visitor']")).to_have_attribute("data-state", "sent")
    page.wait_for_function(THUMBNAIL_LOADED)

    # as an hour later: the link kept with the chat no longer works (403)
    kept = page.evaluate("""() => {
        const key = Object.keys(localStorage).find(k => k.endsWith(':chat'));
        const chat = JSON.parse(localStorage.getItem(key));
        const file = chat.messages.find(m => m.attachment).attachment;
        file.url = file.url.replace(/signature=[^&]+/, 'signature=expired');
        localStorage.setItem(key, JSON.stringify(chat));
        return file.url; }""")
    assert httpx.get(server.url + kept, timeout=5).status_code == 403

    page.reload()
    expect(part(page, ".cs-status")).to_have_text("Ann is here to help")  # welcomed back
    page.wait_for_function(THUMBNAIL_LOADED)
    shown = part(page, ".cs-msg[data-role='visitor'] img").get_attribute("src")
    assert shown is not None and "signature=expired" not in shown


def test_an_html_file_renamed_png_is_refused_with_a_clear_message(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = host.tab(context, server)
    connected(page)
    attach(page, "invoice.png", HTML)
    refused = part(page, ".cs-msg[data-role='visitor']")
    expect(refused).to_have_attribute("data-state", "failed")
    expect(refused.locator(".cs-meta")).to_contain_text(
        "Not sent: the file holds HTML, SVG or XML markup")
    expect(refused.locator(".cs-retry")).to_be_visible()
    agent.drain(0.3)
    assert not [f for f in agent.frames if f["type"] == "assigned"]  # nothing was sent


def test_a_file_dropped_on_the_panel_or_pasted_in_the_box_is_sent(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = host.tab(context, server)
    connected(page)
    for event, target in (("drop", ".cs-panel"), ("paste", ".cs-input")):
        page.evaluate("""([event, target, name]) => {
            const data = new DataTransfer();
            data.items.add(new File(['a note about my order'], name, {type: 'text/plain'}));
            const root = document.querySelector('chatserver-widget').shadowRoot;
            const fired = event === 'drop'
                ? new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true})
                : new ClipboardEvent('paste', {clipboardData: data, bubbles: true});
            root.querySelector(target).dispatchEvent(fired);
        }""", [event, target, f"{event}.txt"])
        sent = part(page, ".cs-msg[data-role='visitor']").filter(has_text=f"{event}.txt")
        expect(sent).to_have_attribute("data-state", "sent")
        expect(sent.locator("a")).to_have_text(f"{event}.txt (text/plain, 1 KB)")
    for _ in range(100):  # in the `assigned` snapshot, or as `message` frames after it
        names = [m["attachment"]["name"] for f in agent.frames
                 for m in ([f] if f["type"] == "message" else f["conversation"]["messages"]
                           if f["type"] == "assigned" else []) if m.get("attachment")]
        if len(names) == 2:
            break
        agent.drain(0.1)
    assert sorted(names) == ["drop.txt", "paste.txt"]
