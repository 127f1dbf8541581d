"""The agent console in a real browser against a real server; the visitor is a socket client.

Each test checks what the agent (or the visitor) would notice: what is on screen, and what
arrives on the visitor's socket.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect
from websockets.sync.client import ClientConnection, connect

from tests.browser.conftest import new_context, screenshot
from tests.conftest import LiveServer, add_agent

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
XSS = ('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1"> '
       '<b hx-get="/api/health" hx-trigger="load">x</b>')

Frame = dict[str, Any]


class VisitorClient:
    """A visitor speaking the widget's protocol over a plain socket (no browser)."""

    def __init__(self, ws_base: str, name: str | None = None, email: str | None = None) -> None:
        self._exit = contextlib.ExitStack()  # websockets 17 wants connect() as a context
        self.ws: ClientConnection = self._exit.enter_context(
            connect(ws_base + "/ws/visitor", open_timeout=10))
        self.frames: list[Frame] = []  # everything received, in order
        self.ws.send(json.dumps({"type": "hello", "token": None, "name": name, "email": email}))
        self.welcome = self.wait_for(lambda f: f["type"] == "welcome")

    def _next(self, timeout: float) -> Frame:
        frame: Frame = json.loads(self.ws.recv(timeout=timeout))
        self.frames.append(frame)
        return frame

    def wait_for(self, match: Callable[[Frame], bool], timeout: float = 10) -> Frame:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self._next(left)
            except TimeoutError:
                break
            if match(frame):
                return frame
        raise AssertionError(f"no matching frame in {timeout}s; got {self.frames}")

    def frames_within(self, seconds: float) -> list[Frame]:
        """Everything that arrives in the next `seconds`."""
        got: list[Frame] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self._next(left))
            except TimeoutError:
                break
        return got

    def say(self, text: str) -> Frame:
        client_id = str(uuid.uuid4())
        self.ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
        return self.wait_for(lambda f: f["type"] == "ack" and f["client_id"] == client_id)

    def wait_for_message(self, text: str, timeout: float = 10) -> Frame:
        return self.wait_for(lambda f: f["type"] == "message" and f["text"] == text, timeout)

    def close(self) -> None:
        self._exit.close()


@pytest.fixture
def visitors(live_server: LiveServer) -> Iterator[Callable[..., VisitorClient]]:
    opened: list[VisitorClient] = []

    def open_visitor(**kwargs: Any) -> VisitorClient:
        opened.append(VisitorClient(live_server.ws, **kwargs))
        return opened[-1]

    yield open_visitor
    for visitor in opened:
        visitor.close()


@pytest.fixture
def agent(live_server: LiveServer) -> str:
    add_agent(live_server.db_url, EMAIL, "Ada Lovelace", capacity=3, password=PASSWORD)
    return EMAIL


def sign_in(page: Page, base_url: str, email: str = EMAIL, password: str = PASSWORD) -> None:
    """Open the console, get sent to the sign-in page, sign in, land on a live console."""
    page.goto(base_url + "/console")
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console$"))
    expect(page.get_by_test_id("connection")).to_have_text("Live")


def go_available(page: Page) -> None:
    presence = page.get_by_test_id("presence")
    expect(presence).to_have_attribute("data-status", "away")  # never chosen: away
    presence.click()
    expect(presence).to_have_attribute("data-status", "available")
    expect(presence).to_have_text("Available")


def open_chat(page: Page, conversation_id: int) -> None:
    item = page.get_by_test_id("mine-list").locator(
        f'[data-testid="conversation-item"][data-conversation-id="{conversation_id}"]')
    expect(item).to_be_visible()
    item.click()
    expect(item).to_have_class(re.compile(r"\bselected\b"))
    expect(page.get_by_test_id("conversation")).to_have_attribute(
        "data-conversation-id", str(conversation_id))


def close_chat(page: Page) -> None:
    """Close the open chat with the Close button, and say yes when asked."""
    page.get_by_test_id("close-conversation").click()
    page.get_by_test_id("confirm-close-yes").click()


def transcript_message(page: Page, text: str) -> Any:
    return page.get_by_test_id("transcript").get_by_test_id("message").filter(has_text=text)


def reply(page: Page, text: str, note: bool = False) -> None:
    toggle = page.get_by_test_id("note-toggle")
    toggle.set_checked(note)
    box = page.get_by_test_id("reply")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def test_agent_and_visitor_talk_and_notes_stay_private(
        live_server: LiveServer, agent: str, context: BrowserContext,
        visitors: Callable[..., VisitorClient]) -> None:
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    sign_in(page, live_server.url)
    expect(page.get_by_test_id("load")).to_have_text("0/3")
    go_available(page)

    # A visitor writes: the chat is routed to Ada and shows in Mine with its text.
    visitor = visitors(name="Grace Hopper", email="grace@example.com")
    ack = visitor.say("Hello, my order #42 has not arrived")
    conversation_id = ack["conversation_id"]
    mine = page.get_by_test_id("mine-list")
    item = mine.locator(f'[data-conversation-id="{conversation_id}"]')
    expect(item).to_contain_text("Grace Hopper")
    expect(item).to_contain_text("grace@example.com")
    expect(item).to_contain_text("unverified")
    expect(page.get_by_test_id("load")).to_have_text("1/3")
    open_chat(page, conversation_id)
    first = transcript_message(page, "Hello, my order #42 has not arrived")
    expect(first).to_have_attribute("data-role", "visitor")
    expect(first).to_have_attribute("data-seq", re.compile(r"^\d+$"))

    # The visitor's typing shows, and goes away when they stop.
    visitor.ws.send(json.dumps({"type": "typing", "active": True}))
    indicator = page.get_by_test_id("typing-indicator")
    expect(indicator).to_have_text("Grace Hopper is typing…")
    visitor.ws.send(json.dumps({"type": "typing", "active": False}))
    expect(indicator).to_be_hidden()

    # Ada replies (Enter sends): it is confirmed in the console and reaches the visitor.
    reply(page, "Sorry about that! Let me check.")
    sent = transcript_message(page, "Sorry about that! Let me check.")
    expect(sent).to_have_attribute("data-state", "sent")
    expect(sent).to_have_attribute("data-private", "false")
    got = visitor.wait_for_message("Sorry about that! Let me check.")
    assert got["author"] == {"role": "agent", "name": "Ada Lovelace"}
    assert int(sent.get_attribute("data-seq") or 0) == got["seq"]

    # Shift+Enter makes a new line instead of sending.
    box = page.get_by_test_id("reply")
    box.fill("Line one")
    box.press("Shift+Enter")
    box.press_sequentially("line two")
    expect(box).to_have_value("Line one\nline two")
    page.get_by_test_id("send").click()
    visitor.wait_for_message("Line one\nline two")

    # Markup from a visitor is shown as the literal text and does nothing.
    visitor.say(XSS)
    hostile = page.get_by_test_id("transcript").get_by_test_id("message").filter(
        has_text="<script>window.__pwned=1</script>")
    expect(hostile.locator(".msg-text")).to_have_text(XSS)
    transcript = page.get_by_test_id("transcript")
    expect(transcript.locator("script, img, b")).to_have_count(0)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert not [u for u in requested if "/api/health" in u or u.endswith("/x")]
    expect(mine.locator(f'[data-conversation-id="{conversation_id}"]')).to_contain_text(
        "<script>")  # the list's preview is literal text too

    # A private note: marked and yellow in the console, never on the visitor's socket.
    reply(page, "VIP customer, refund without asking twice", note=True)
    note = transcript_message(page, "VIP customer, refund without asking twice")
    expect(note).to_have_attribute("data-state", "sent")
    expect(note).to_have_attribute("data-private", "true")
    expect(note).to_contain_text("Private note")
    assert note.locator(".msg-text").evaluate("e => getComputedStyle(e).backgroundColor") == \
        "rgb(254, 249, 195)"
    quiet = visitor.frames_within(1.0)
    assert not [f for f in quiet if f["type"] == "message"], quiet
    assert not [f for f in quiet if f["type"] == "typing" and f["active"]], quiet

    reply(page, "Your refund is on its way.")
    visitor.wait_for_message("Your refund is on its way.")
    texts = [f["text"] for f in visitor.frames if f["type"] == "message"]
    assert "VIP customer, refund without asking twice" not in texts
    assert all("VIP" not in json.dumps(f) for f in visitor.frames)

    # Everything the visitor wrote or read is read here: no unread badge, plain title.
    expect(item.get_by_test_id("unread")).to_be_hidden()
    expect(page).to_have_title("Chatserver console")
    assert "null" not in transcript.inner_text()
    assert "undefined" not in transcript.inner_text()
    screenshot(page, "console-conversation")


def test_unread_count_and_queue_claim(
        live_server: LiveServer, agent: str, context: BrowserContext,
        visitors: Callable[..., VisitorClient]) -> None:
    page = context.new_page()
    sign_in(page, live_server.url)

    # Away: a new chat waits in the queue, with its position and a Claim button.
    visitor = visitors(name="Linus")
    conversation_id = visitor.say("Anyone there?")["conversation_id"]
    queued = page.get_by_test_id("queue-list").locator(
        f'[data-conversation-id="{conversation_id}"]')
    expect(queued).to_contain_text("#1")
    expect(queued).to_contain_text("Linus")
    queued.get_by_test_id("claim").click()
    expect(queued).to_have_count(0)
    item = page.get_by_test_id("mine-list").locator(f'[data-conversation-id="{conversation_id}"]')
    expect(item).to_be_visible()
    open_chat(page, conversation_id)
    expect(transcript_message(page, "Anyone there?")).to_be_visible()

    # Another chat arrives; claiming it opens it. Back on Linus's chat, the other one's new
    # message counts as unread in the list and in the title.
    other = visitors()
    other_id = other.say("Quick question about billing")["conversation_id"]
    page.get_by_test_id("queue-list").locator(
        f'[data-conversation-id="{other_id}"]').get_by_test_id("claim").click()
    expect(transcript_message(page, "Quick question about billing")).to_be_visible()
    other_item = page.get_by_test_id("mine-list").locator(f'[data-conversation-id="{other_id}"]')
    expect(other_item).to_contain_text(re.compile(r"Visitor [0-9a-f]{6}"))
    expect(other_item).to_have_class(re.compile(r"\bselected\b"))
    other.wait_for(lambda f: f["type"] == "read" and f["role"] == "agent")  # shown, so read
    open_chat(page, conversation_id)
    other.say("Hello?")
    expect(other_item.get_by_test_id("unread")).to_have_text("1")
    other.say("Are you there?")
    expect(other_item.get_by_test_id("unread")).to_have_text("2")
    expect(page).to_have_title("(2) Chatserver console")
    expect(page.get_by_test_id("load")).to_have_text("2/3")

    # Opening it reads it: the badge goes, and the visitor is told it was read.
    other_item.click()
    expect(other_item.get_by_test_id("unread")).to_be_hidden()
    expect(page).to_have_title("Chatserver console")
    read = other.wait_for(lambda f: f["type"] == "read" and f["role"] == "agent" and f["seq"] > 2)
    assert read["seq"] >= 4  # the visitor's three messages and the "joined" note

    # Close asks first: Cancel keeps the chat, "Close chat" ends it.
    page.get_by_test_id("close-conversation").click()
    confirm = page.get_by_test_id("confirm-close")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("Close this chat?")
    expect(page.get_by_test_id("confirm-close-yes")).to_be_focused()
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    expect(page.get_by_test_id("close-conversation")).to_be_focused()
    expect(other_item).to_be_visible()
    reply(page, "Still here for you.")  # the chat goes on: this reaches the visitor
    other.wait_for_message("Still here for you.")
    # Closing the chat takes it off Ada's list and tells the visitor.
    close_chat(page)
    expect(other_item).to_have_count(0)
    other.wait_for(lambda f: f["type"] == "status" and f["status"] == "closed")
    expect(page.get_by_test_id("load")).to_have_text("1/3")
    # The transcript stays on screen, read-only, until Ada picks another chat.
    expect(page.get_by_role("main")).to_contain_text("This chat is closed")
    expect(transcript_message(page, "closed the chat")).to_be_visible()
    expect(page.get_by_test_id("reply")).to_have_count(0)
    item.click()
    expect(page.get_by_test_id("reply")).to_be_enabled()
    expect(transcript_message(page, "Anyone there?")).to_be_visible()


def test_pending_message_is_resent_after_reconnect(
        live_server: LiveServer, agent: str, context: BrowserContext,
        visitors: Callable[..., VisitorClient]) -> None:
    """A reply sent into a dying connection shows as pending, then goes once reconnected."""
    page = context.new_page()
    routes: list[WebSocketRoute] = []
    swallow = {"messages": False}

    def through_proxy(route: WebSocketRoute) -> None:
        server = route.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if swallow["messages"] and '"type":"message"' in str(message):
                return  # lost on the way, as on a connection that is about to drop
            server.send(message)
        route.on_message(from_page)
        routes.append(route)

    page.route_web_socket(re.compile(r"/ws/agent$"), through_proxy)
    sign_in(page, live_server.url)
    go_available(page)
    visitor = visitors(name="Margaret")
    conversation_id = visitor.say("Is my subscription active?")["conversation_id"]
    open_chat(page, conversation_id)

    swallow["messages"] = True
    reply(page, "Yes, it renews on the 1st.")
    pending = transcript_message(page, "Yes, it renews on the 1st.")
    expect(pending).to_have_attribute("data-state", "pending")
    expect(pending).to_contain_text("Sending…")
    early = visitor.frames_within(0.5)
    assert not [f for f in early if f.get("text") == "Yes, it renews on the 1st."], early

    # The connection drops; the console reconnects by itself and resends the reply once.
    swallow["messages"] = False
    routes[-1].close()
    expect(pending).to_have_attribute("data-state", "sent", timeout=10_000)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    assert len(routes) >= 2
    got = visitor.wait_for_message("Yes, it renews on the 1st.")
    assert got["author"]["role"] == "agent"
    later = visitor.frames_within(0.5)
    assert not [f for f in later if f["type"] == "message"], later  # delivered once
    expect(transcript_message(page, "Yes, it renews on the 1st.")).to_have_count(1)
    expect(transcript_message(page, "Is my subscription active?")).to_have_count(1)


def test_wrong_password_shows_the_error(live_server: LiveServer, agent: str,
                                        context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(live_server.url + "/console")
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That email and password do not match.")
    expect(page).to_have_url(re.compile(r"/console/login"))
    screenshot(page, "console-login-error")

    # ... and the right one still works from there; signing out goes back to sign-in.
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.goto(live_server.url + "/console")
    expect(page).to_have_url(re.compile(r"/console/login"))


def test_the_empty_inbox_hint_fits_the_agents_presence(
        live_server: LiveServer, agent: str, context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, live_server.url)
    hint = page.locator('[data-empty="mine"]')
    expect(hint).to_have_text("No open chats. Set yourself Available to get new ones.")
    go_available(page)
    expect(hint).to_have_text("No open chats. New ones come to you as visitors write.")
    page.reload()  # the server remembers: still available, still the same hint
    expect(page.get_by_test_id("presence")).to_have_attribute("data-status", "available")
    expect(hint).to_have_text("No open chats. New ones come to you as visitors write.")
    page.get_by_test_id("presence").click()
    expect(hint).to_have_text("No open chats. Set yourself Available to get new ones.")


def test_transfer_to_a_colleague_then_back_to_the_queue(
        live_server: LiveServer, agent: str, browser: Browser, context: BrowserContext,
        visitors: Callable[..., VisitorClient]) -> None:
    add_agent(live_server.db_url, "bob@example.com", "Bob Babbage", capacity=2,
              password="bob's password")
    ada = context.new_page()
    sign_in(ada, live_server.url)
    go_available(ada)
    bob_context = new_context(browser)
    try:
        bob = bob_context.new_page()
        sign_in(bob, live_server.url, "bob@example.com", "bob's password")

        visitor = visitors(name="Edsger")
        conversation_id = visitor.say("I was charged twice")["conversation_id"]
        open_chat(ada, conversation_id)

        # Bob is away: Ada cannot pick him; once he is available (and has room), she can.
        transfer = ada.get_by_test_id("transfer")
        expect(transfer.locator("option", has_text="Bob Babbage")).to_have_count(0)
        go_available(bob)
        expect(transfer.locator("option", has_text="Bob Babbage (0/2)")).to_have_count(1)
        transfer.select_option(label="Bob Babbage (0/2)")

        # It leaves Ada's list and shows in Bob's, whole transcript included.
        expect(ada.get_by_test_id("mine-list").get_by_test_id("conversation-item")).to_have_count(0)
        expect(ada.get_by_test_id("toast")).to_contain_text("Edsger was transferred")
        expect(bob.get_by_test_id("load")).to_have_text("1/2")
        open_chat(bob, conversation_id)
        expect(transcript_message(bob, "I was charged twice")).to_be_visible()
        expect(transcript_message(bob, "Bob Babbage took over the chat")).to_be_visible()
        visitor.wait_for(lambda f: f["type"] == "status" and (f["agent"] or {}).get("name")
                         == "Bob Babbage")

        # Both step away (or it would be routed again at once); Bob puts it back in the
        # queue: both see it waiting first in line.
        for page in (ada, bob):
            page.get_by_test_id("presence").click()
            expect(page.get_by_test_id("presence")).to_have_attribute("data-status", "away")
        expect(bob.get_by_test_id("transfer").locator("option", has_text="Ada")).to_have_count(0)
        bob.get_by_test_id("transfer").select_option(label="Back to queue")
        expect(bob.get_by_test_id("mine-list").get_by_test_id("conversation-item")).to_have_count(0)
        for page in (ada, bob):
            queued = page.get_by_test_id("queue-list").locator(
                f'[data-conversation-id="{conversation_id}"]')
            expect(queued).to_contain_text("#1")
            expect(queued).to_contain_text("Edsger")

        # Ada claims it back.
        ada.get_by_test_id("queue-list").get_by_test_id("claim").click()
        expect(ada.get_by_test_id("mine-list").locator(
            f'[data-conversation-id="{conversation_id}"]')).to_be_visible()
        expect(bob.get_by_test_id("queue-list").get_by_test_id("conversation-item")).to_have_count(0)
    finally:
        bob_context.close()


@pytest.mark.parametrize("size", [(768, 1024), (1024, 768)], ids=["portrait", "landscape"])
def test_console_fits_a_tablet(live_server: LiveServer, agent: str, browser: Browser,
                               visitors: Callable[..., VisitorClient],
                               size: tuple[int, int]) -> None:
    context = new_context(browser, viewport={"width": size[0], "height": size[1]},
                          has_touch=True)
    try:
        page = context.new_page()
        sign_in(page, live_server.url)
        go_available(page)
        visitor = visitors(name="Barbara", email="barbara@example.com")
        conversation_id = visitor.say("Can I change the email on my account? " * 3)[
            "conversation_id"]
        open_chat(page, conversation_id)
        reply(page, "Of course. Which address should we use?")
        expect(transcript_message(page, "Which address")).to_have_attribute("data-state", "sent")

        # The list, the conversation and its controls are all on screen, nothing scrolls sideways.
        for test_id in ("mine-list", "transcript", "reply", "send", "note-toggle",
                        "close-conversation", "transfer", "presence", "load"):
            expect(page.get_by_test_id(test_id)).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, f"console-tablet-{size[0]}x{size[1]}")
    finally:
        context.close()


def test_on_a_phone_the_chat_takes_the_screen_and_back_returns_to_the_list(
        live_server: LiveServer, agent: str, browser: Browser,
        visitors: Callable[..., VisitorClient]) -> None:
    context = new_context(browser, viewport={"width": 390, "height": 844}, has_touch=True)
    try:
        page = context.new_page()
        sign_in(page, live_server.url)
        go_available(page)
        conversation_id = visitors(name="Ines").say("Is my parcel lost?")["conversation_id"]
        open_chat(page, conversation_id)
        expect(page.get_by_test_id("reply")).to_be_in_viewport()
        expect(page.get_by_test_id("mine-list")).to_be_hidden()  # one column: the chat alone

        page.get_by_role("button", name="Back to the list").click()
        expect(page.get_by_test_id("mine-list")).to_be_in_viewport()
        expect(page.get_by_test_id("conversation")).to_have_count(0)
        expect(page.locator("#pane")).to_be_hidden()
        expect(page.get_by_test_id("mine-list").get_by_test_id("conversation-item")).not_to_have_class(
            re.compile(r"\bselected\b"))
    finally:
        context.close()


# Records desktop notifications instead of making them (headless has none), and the sounds
# played: which file, and whether it played.
ALERT_RECORDER = """
window.__notifications = [];
window.__beeps = [];
window.Notification = class {
  constructor(title, options) { window.__notifications.push({title, ...options}); }
  close() {}
  static get permission() { return 'granted'; }
  static requestPermission() { return Promise.resolve('granted'); }
};
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  const beep = {src: new URL(this.src).pathname};
  window.__beeps.push(beep);
  return play.call(this).then(() => { beep.played = true; },
                              (e) => { beep.error = e.name; throw e; });
};
"""


def test_a_new_chat_beeps_notifies_and_counts_in_the_title(
        live_server: LiveServer, agent: str, context: BrowserContext,
        visitors: Callable[..., VisitorClient]) -> None:
    context.add_init_script(ALERT_RECORDER)
    page = context.new_page()
    sign_in(page, live_server.url)
    go_available(page)  # a click: browsers allow sound only after one

    visitor = visitors(name="Hedy")
    conversation_id = visitor.say("Do you ship to Austria?")["conversation_id"]
    expect(page.get_by_test_id("mine-list").locator(
        f'[data-conversation-id="{conversation_id}"]')).to_be_visible()
    page.wait_for_function("window.__notifications.length === 1")
    note = page.evaluate("window.__notifications[0]")
    assert note["title"] == "New chat: Hedy"
    assert note["body"] == "Do you ship to Austria?"
    page.wait_for_function("window.__beeps.some((b) => b.played || b.error)")
    chime = {"src": "/console/assets/chime.wav", "played": True}
    assert page.evaluate("window.__beeps[0]") == chime

    # Shown at once (nothing else was open), so it is read; a second chat waits unread.
    expect(page).to_have_title("Chatserver console")
    visitors(name="Alan").say("Hello, is anyone there?")
    page.wait_for_function("window.__notifications.length === 2")
    expect(page).to_have_title("(1) Chatserver console")


def test_a_console_signed_out_elsewhere_returns_to_sign_in(
        live_server: LiveServer, agent: str, context: BrowserContext) -> None:
    routes: list[WebSocketRoute] = []

    def through_proxy(route: WebSocketRoute) -> None:
        route.connect_to_server()
        routes.append(route)

    page = context.new_page()
    page.route_web_socket(re.compile(r"/ws/agent$"), through_proxy)
    sign_in(page, live_server.url)
    other_tab = context.new_page()
    other_tab.goto(live_server.url + "/console")
    other_tab.get_by_role("button", name="Sign out").click()
    expect(other_tab).to_have_url(re.compile(r"/console/login"))

    routes[-1].close()  # the connection drops; reconnecting is refused without a session
    expect(page).to_have_url(re.compile(r"/console/login"), timeout=10_000)
