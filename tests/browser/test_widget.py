"""The embeddable widget in a real browser, always on a page from another origin than the chat
server: a host page served here (or the demo shop's second port), the widget's script tag
pointing at the server. The agent is a plain socket client with an API token.

The delivery tests (reloads, tabs, a cut network, email) are in test_widget_delivery.py and
use the helpers defined here.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from chatserver.domain.clock import iso
from chatserver.store.sqlite import sqlite_path
from tests.backends import query
from tests.browser.conftest import screenshot
from tests.browser.test_console import XSS, VisitorClient
from tests.conftest import LiveServer, add_agent, free_port, start_server

Frame = dict[str, Any]


# ---- the host site: pages on their own origin, embedding the widget ----------------------

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Host shop</title><style>{css}</style></head>
<body><header><h1>Host shop</h1></header>
<main><div class="card"><h2>Course Pro</h2><p>$149.00</p><a href="#buy">Buy</a></div></main>
{before}<script async src="{src}" {attrs}></script></body></html>"""


class ChatServer(Protocol):
    """A chat server as the host site and the agents reach it: a real process (LiveServer)
    or uvicorn in this process (tests/web/conftest.py's InProcessServer)."""

    @property
    def url(self) -> str: ...

    @property
    def ws(self) -> str: ...


class HostSite:
    """A small web server on a free port of its own: another origin than the chat server."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.headers: dict[str, dict[str, str]] = {}  # extra response headers, by path
        pages, headers = self.pages, self.headers

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                body = pages.get(path)
                data = (body or "not found").encode()
                self.send_response(200 if body else 404)
                for name, value in headers.get(path, {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page(self, chat: ChatServer, path: str = "/shop", css: str = "", attrs: str = "",
             before: str = "", headers: dict[str, str] | None = None) -> str:
        """Publish a page embedding the widget from `chat`; returns its URL."""
        self.pages[path] = PAGE.format(css=css, src=f"{chat.url}/widget.js", attrs=attrs,
                                       before=before)
        self.headers[path] = headers or {}
        return self.origin + path

    def tab(self, context: BrowserContext, chat: ChatServer, path: str = "/shop") -> Page:
        """A new tab on a page embedding the widget from `chat`, the widget opened."""
        page = context.new_page()
        page.goto(self.page(chat, path))
        open_widget(page)
        return page

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def host() -> Iterator[HostSite]:
    site = HostSite()
    yield site
    site.close()


@pytest.fixture
def serve(db_url: str, tmp_path: Path, host: HostSite) -> Iterator[Callable[..., LiveServer]]:
    """Start a chat server on a fresh database that allows the host site's origin (unless
    `env` says otherwise); stopped after the test."""
    started: list[LiveServer] = []

    def start(*args: str, env: dict[str, str] | None = None, command: str = "serve",
              ) -> LiveServer:
        full = {"CHATSERVER_ALLOWED_ORIGINS": host.origin, **(env or {})}
        started.append(start_server(db_url, tmp_path / "server.log", *args, env=full,
                                    command=command))
        return started[-1]

    yield start
    for server in started:
        server.stop()


# ---- the agent: a socket client with an API token ------------------------------------------

class AgentClient:
    """An agent speaking the agent socket's protocol (no console, to keep tests fast)."""

    def __init__(self, ws_base: str, token: str, available: bool = True) -> None:
        self._exit = contextlib.ExitStack()
        self.ws: ClientConnection = self._exit.enter_context(connect(
            ws_base + "/ws/agent", additional_headers={"Authorization": f"Bearer {token}"},
            open_timeout=10))
        self.frames: list[Frame] = []
        self.welcome = self.wait_for(lambda f: f["type"] == "welcome")
        if available:
            self.send("presence", status="available")

    def send(self, kind: str, **fields: Any) -> None:
        self.ws.send(json.dumps({"type": kind, **fields}))

    def wait_for(self, match: Callable[[Frame], bool], timeout: float = 10) -> Frame:
        for frame in self.frames:  # already here
            if match(frame):
                return frame
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                break
            self.frames.append(frame)
            if match(frame):
                return frame
        raise AssertionError(f"no matching frame in {timeout}s; got {self.frames}")

    def drain(self, seconds: float) -> None:
        """Take in whatever arrives in the next `seconds`."""
        with contextlib.suppress(AssertionError):
            self.wait_for(lambda f: False, seconds)

    def assigned(self) -> int:
        """The id of the conversation routed to this agent (waits for it)."""
        return int(self.wait_for(lambda f: f["type"] == "assigned")["conversation"]["id"])

    def received(self, text: str) -> list[Frame]:
        """Every copy of a visible message with this text that reached the agent, whether in
        an `assigned` snapshot or as a `message` frame."""
        copies = [f for f in self.frames if f["type"] == "message" and f.get("text") == text]
        for frame in self.frames:
            if frame["type"] == "assigned":
                copies += [m for m in frame["conversation"]["messages"] if m["text"] == text]
        return copies

    def wait_for_text(self, text: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not self.received(text):
            if time.monotonic() > deadline:
                raise AssertionError(f"the agent never got {text!r}: {self.frames}")
            self.drain(0.1)

    def say(self, conversation_id: int, text: str) -> Frame:
        client_id = str(uuid.uuid4())
        self.send("message", conversation_id=conversation_id, client_id=client_id, text=text)
        return self.wait_for(lambda f: f["type"] == "ack" and f["client_id"] == client_id)

    def close(self) -> None:
        self._exit.close()


class SocketVisitor(VisitorClient):
    """Another visitor, as a plain socket client on the host site's origin."""

    def __init__(self, server: LiveServer, origin: str, name: str) -> None:
        self._exit = contextlib.ExitStack()
        self.ws = self._exit.enter_context(connect(server.ws + "/ws/visitor", origin=origin,
                                                   open_timeout=10))  # type: ignore[arg-type]
        self.frames = []
        self.ws.send(json.dumps({"type": "hello", "token": None, "name": name}))
        self.welcome = self.wait_for(lambda f: f["type"] == "welcome")


@pytest.fixture
def agents() -> Iterator[Callable[..., AgentClient]]:
    opened: list[AgentClient] = []

    def open_agent(server: ChatServer, token: str, available: bool = True) -> AgentClient:
        opened.append(AgentClient(server.ws, token, available))
        return opened[-1]

    yield open_agent
    for agent in opened:
        agent.close()


@pytest.fixture
def staffed(serve: Callable[..., LiveServer],
            agents: Callable[..., AgentClient]) -> tuple[LiveServer, AgentClient]:
    """A chat server as `serve()` starts it, with agent Ann available on her socket."""
    server = serve()
    return server, agents(server, add_agent(server.db_url, "ann@example.com", "Ann"))


# ---- the widget, as a visitor sees it -----------------------------------------------------

def part(page: Page, selector: str) -> Locator:
    """A part of the widget (Playwright's CSS pierces the open shadow root)."""
    return page.locator(f"chatserver-widget {selector}")


def bubble(page: Page, text: str, role: str | None = None) -> Locator:
    kind = f".cs-msg[data-role='{role}']" if role else ".cs-msg"
    return part(page, kind).filter(has_text=text)


def open_widget(page: Page) -> None:
    part(page, ".cs-launcher").click()
    expect(part(page, ".cs-panel")).to_be_visible()


def write(page: Page, text: str) -> Locator:
    """Type a message in the widget and send it with Enter; returns its bubble."""
    box = part(page, ".cs-input")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")
    return bubble(page, text, "visitor")


def wait_sent(page: Page, text: str) -> Locator:
    message = bubble(page, text, "visitor")
    expect(message).to_have_attribute("data-state", "sent")
    return message


def say(page: Page, text: str) -> Locator:
    """Write a message and wait for the server's ack."""
    write(page, text)
    return wait_sent(page, text)


def test_a_visitor_on_the_demo_shop_and_an_agent_talk_keyboard_only(
        db_url: str, tmp_path: Path, context: BrowserContext,
        agents: Callable[..., AgentClient]) -> None:
    token = add_agent(db_url, "ann@example.com", "Ann Agent")
    shop_port = free_port()
    # `demo --shop-port` serves the shop from a second port (another origin) and allows it;
    # no other origin is allowed.
    server = start_server(db_url, tmp_path / "server.log", "--shop-port", str(shop_port),
                          command="demo", env={"CHATSERVER_ALLOWED_ORIGINS": ""})
    try:
        agent = agents(server, token)
        page = context.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.goto(f"http://127.0.0.1:{shop_port}/demo")
        expect(page.locator("h1")).to_have_text("Acme Courses")

        # Keyboard only: focus the launcher, Enter opens the panel with the focus in the box.
        launcher = part(page, ".cs-launcher")
        expect(launcher).to_have_attribute("aria-expanded", "false")
        launcher.focus()
        page.keyboard.press("Enter")
        expect(part(page, ".cs-panel")).to_be_visible()
        expect(launcher).to_have_attribute("aria-expanded", "true")
        expect(part(page, ".cs-input")).to_be_focused()
        # The admin's defaults apply (the demo page sets no data attributes).
        expect(part(page, ".cs-title")).to_have_text("Chat with us")
        expect(part(page, ".cs-greeting")).to_have_text("Hi! How can we help?")
        expect(part(page, ".cs-status")).to_have_text("We're online")
        expect(part(page, ".cs-messages")).to_have_attribute("aria-live", "polite")

        page.keyboard.type("Hi! Did my Course Pro order go through?")
        page.keyboard.press("Enter")
        question = wait_sent(page, "Did my Course Pro order go through?")
        expect(question).to_have_attribute("data-seq", "1")

        conversation_id = agent.assigned()
        agent.wait_for_text("Hi! Did my Course Pro order go through?")
        expect(part(page, ".cs-agent")).to_have_text("Ann Agent")
        # One line in the header, not the name above the rest of the sentence.
        expect(part(page, ".cs-status")).to_have_text("Ann Agent is here to help")
        name, rest = (part(page, s).bounding_box() for s in (".cs-agent", ".cs-state"))
        assert name is not None and rest is not None and name["y"] == rest["y"]

        # Typing shows both ways.
        agent.send("typing", conversation_id=conversation_id, active=True)
        expect(part(page, ".cs-typing")).to_have_text("Ann Agent is typing…")
        page.keyboard.type("Also")
        agent.wait_for(lambda f: f["type"] == "typing" and f["role"] == "visitor"
                       and f["active"])
        page.keyboard.press("Control+a")
        page.keyboard.press("Delete")

        seq = agent.say(conversation_id, "Yes: order CP-1001, paid $149.00.")["seq"]
        answer = bubble(page, "order CP-1001, paid $149.00.", "agent")
        expect(answer).to_contain_text("Ann Agent")
        expect(part(page, ".cs-typing")).to_be_hidden()
        # The visitor had the panel open: the agent is told it was read, and reads back.
        agent.wait_for(lambda f: f["type"] == "read" and f["role"] == "visitor"
                       and f["seq"] == seq)
        agent.send("read", conversation_id=conversation_id, seq=seq)
        expect(question.locator(".cs-seen")).to_have_text("Seen")
        screenshot(page, "widget-open-chatting")

        # Escape closes the panel and gives the focus back to the launcher.
        page.keyboard.press("Escape")
        expect(part(page, ".cs-panel")).to_be_hidden()
        expect(launcher).to_be_focused()

        # An answer while the panel is closed shows on the badge, and the launcher says so.
        agent.say(conversation_id, "Anything else I can help with?")
        expect(part(page, ".cs-badge")).to_have_text("1")
        expect(launcher).to_have_attribute("aria-label", "Open chat, 1 unread")
        screenshot(page, "widget-closed-badge")
        page.keyboard.press("Enter")
        expect(bubble(page, "Anything else I can help with?", "agent")).to_be_visible()
        expect(part(page, ".cs-badge")).to_be_hidden()

        # Both sides hold the same transcript; the token never went into a URL.
        texts = part(page, ".cs-msg:not([data-role=system]) .cs-text").all_inner_texts()
        assert texts == ["Hi! Did my Course Pro order go through?",
                         "Yes: order CP-1001, paid $149.00.", "Anything else I can help with?"]
        assert [r[0] for r in query(db_url, "SELECT text FROM messages WHERE conversation_id "
                                    "= ? AND author_role != 'system' ORDER BY seq",
                                    conversation_id)] == texts
        token_now = page.evaluate("Object.entries(localStorage).find(([k]) => "
                                  "k.endsWith(':token'))[1]")
        assert sockets and all(json.loads(token_now) not in url for url in sockets)
        assert json.loads(token_now) not in page.url
    finally:
        server.stop()


def test_markup_shows_as_text_and_links_are_safe(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = host.tab(context, server)

    # The visitor's own markup, and the agent's, are shown as the literal text.
    say(page, XSS)
    conversation_id = agent.assigned()
    agent.say(conversation_id, "Agent says " + XSS)
    agent.say(conversation_id, "See https://example.com/help?a=1, not javascript:alert(1)")
    shown = bubble(page, "Agent says", "agent").locator(".cs-text")
    expect(shown).to_have_text("Agent says " + XSS)
    expect(bubble(page, "<script>", "visitor").locator(".cs-text")).to_have_text(XSS)
    expect(part(page, ".cs-messages script, .cs-messages img, .cs-messages b")).to_have_count(0)

    # A web link is clickable, opening a new tab without access to this page; nothing else is.
    link = part(page, ".cs-messages a")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", "https://example.com/help?a=1")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None


def test_an_origin_that_is_not_allowed_is_refused(
        serve: Callable[..., LiveServer], host: HostSite, context: BrowserContext) -> None:
    server = serve(env={"CHATSERVER_ALLOWED_ORIGINS": "https://shop.example"})
    page = host.tab(context, server)
    write(page, "Hello? Anyone there?")
    expect(part(page, ".cs-conn")).to_have_text("Can't connect to the chat right now. Retrying…")
    expect(bubble(page, "Anyone there?", "visitor")).to_have_attribute("data-state", "pending")

    # The handshake from this page's origin is refused with 403, and nothing was stored.
    with pytest.raises(InvalidStatus) as refused:
        connect(server.ws + "/ws/visitor", origin=host.origin, open_timeout=5)
    assert refused.value.response.status_code == 403
    assert query(server.db_url, "SELECT count(*) FROM visitors") == [(0,)]
    assert query(server.db_url, "SELECT count(*) FROM messages") == [(0,)]


def test_a_rating_after_the_chat_closes_is_stored(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed  # no SMTP: a transcript cannot be emailed, and none is offered
    page = host.tab(context, server)
    say(page, "Can I change my seat?")
    conversation_id = agent.assigned()
    agent.say(conversation_id, "Done, you are in row 4 now.")
    expect(bubble(page, "row 4", "agent")).to_be_visible()
    agent.send("close", conversation_id=conversation_id)

    expect(part(page, ".cs-status")).to_have_text("This chat has ended")
    rating = part(page, ".cs-rating")
    expect(rating).to_be_visible()
    part(page, ".cs-star").nth(3).click()
    part(page, ".cs-comment").fill("Quick, thanks <b>Ann</b>!")
    part(page, ".cs-rate-send").click()
    expect(part(page, ".cs-thanks")).to_be_visible()
    expect(part(page, ".cs-star.cs-on")).to_have_count(4)
    # Sent: the form shows the rating and can no longer be edited by accident.
    for locked in (*part(page, ".cs-star").all(), part(page, ".cs-comment")):
        expect(locked).to_be_disabled()
    expect(part(page, ".cs-rate-send")).to_be_hidden()
    expect(part(page, ".cs-rate-edit")).to_be_focused()
    assert query(server.db_url, "SELECT rating_score, rating_comment FROM conversations "
                 "WHERE id = ?", conversation_id) == [(4, "Quick, thanks <b>Ann</b>!")]

    expect(part(page, ".cs-mail")).to_be_hidden()
    expect(rating.get_by_role("button", name="Email me the transcript")).to_have_count(0)
    screenshot(page, "widget-closed-rating")

    # "Change" opens it again, and a second rating replaces the first.
    part(page, ".cs-rate-edit").click()
    part(page, ".cs-star").nth(4).click()
    part(page, ".cs-rate-send").click()
    expect(part(page, ".cs-star.cs-on")).to_have_count(5)
    expect(part(page, ".cs-star").first).to_be_disabled()
    deadline = time.monotonic() + 5
    while query(server.db_url, "SELECT rating_score FROM conversations") != [(5,)]:
        assert time.monotonic() < deadline, "the second rating was not stored"
        time.sleep(0.05)


def test_a_server_without_email_offers_no_email(
        serve: Callable[..., LiveServer], host: HostSite, context: BrowserContext) -> None:
    server = serve()  # no SMTP_URL
    page = host.tab(context, server)
    notice = part(page, ".cs-notice")
    expect(notice).to_contain_text("We're away right now. Leave a message and we'll answer here.")
    expect(notice).not_to_contain_text("email")
    expect(part(page, ".cs-email")).to_be_hidden()
    page.reload()  # and from the settings it kept, before the server answers
    open_widget(page)
    expect(notice).to_contain_text("Leave a message")
    expect(part(page, ".cs-email")).to_be_hidden()


HOSTILE_CSS = """
* { display: none !important; }
html, body { display: block !important; }   /* the page itself still renders */
div { all: unset; }
chatserver-widget { display: none !important; visibility: hidden !important;
  opacity: 0 !important; position: static !important; transform: scale(0) !important;
  width: 0 !important; height: 0 !important; z-index: -1 !important; }
button, textarea, input { all: unset !important; font-size: 40px !important; }
[hidden] { display: block !important; }
html { font: 40px/3 serif; color: red; letter-spacing: 5px; }
body { transform: translateX(10px); filter: blur(1px); }
"""


def test_hostile_page_css_does_not_break_the_widget(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = context.new_page()
    page.goto(host.page(server, "/hostile", css=HOSTILE_CSS,
                        before="<div>page stuff</div>"))
    expect(page.locator("h1")).to_be_hidden()  # the page's rules do apply to the page

    launcher = part(page, ".cs-launcher")
    expect(launcher).to_be_visible()
    box = launcher.bounding_box()
    assert box is not None and box["width"] == 56 and box["height"] == 56
    open_widget(page)
    expect(part(page, ".cs-prechat")).to_be_hidden()  # [hidden] still hides inside
    panel = part(page, ".cs-panel").bounding_box()
    assert panel is not None and panel["width"] == 370
    say(page, "Does this page still work?")
    conversation_id = agent.assigned()
    agent.wait_for_text("Does this page still work?")
    agent.say(conversation_id, "It does!")
    expect(bubble(page, "It does!", "agent")).to_be_visible()
    font = part(page, ".cs-text").first.evaluate("e => getComputedStyle(e).fontSize")
    assert font == "14px"
    screenshot(page, "widget-hostile-css")


def seed_waits(db_url: str, waited: float, count: int = 3) -> None:
    """A desk with a past: `count` visitors each waited `waited` seconds before an agent took
    them (the expected wait is the median of recent waits, read when the server starts)."""
    db = sqlite3.connect(sqlite_path(db_url))
    try:
        db.execute("INSERT INTO visitors (id, created_at) VALUES ('past', ?)",
                   (iso(time.time() - 86400),))
        for n in range(count):
            start = time.time() - 3600 * (n + 1)
            db.execute("INSERT INTO conversations (visitor_id, status, created_at, "
                       "waiting_since, assigned_at, first_assigned_at, closed_at, closed_by) "
                       "VALUES ('past', 'closed', ?, ?, ?, ?, ?, 'agent')",
                       (iso(start), iso(start), iso(start + waited), iso(start + waited),
                        iso(start + 600)))
        db.commit()
    finally:
        db.close()


def test_the_queue_and_the_admins_required_pre_chat_form(
        serve: Callable[..., LiveServer], host: HostSite, db_url: str,
        context: BrowserContext, agents: Callable[..., AgentClient]) -> None:
    admin = add_agent(db_url, "root@example.com", "Root", role="admin")
    ann = add_agent(db_url, "ann@example.com", "Ann", capacity=1)
    seed_waits(db_url, 120)
    server = serve()
    changed = httpx.put(server.url + "/api/widget-settings", timeout=10,
                        headers={"Authorization": f"Bearer {admin}"},
                        json={"prechat": "required", "color": "#0f766e",
                              "title": "Acme help", "greeting": "Hello from Acme!"})
    assert changed.status_code == 200, changed.text

    # Ann (capacity 1) is busy with one visitor, and another is waiting before ours.
    agent = agents(server, ann)
    visitors = [SocketVisitor(server, host.origin, f"V{n}") for n in (1, 2)]
    try:
        first = visitors[0].say("I came first")["conversation_id"]
        assert agent.assigned() == first
        visitors[1].say("I came second")

        page = context.new_page()
        page.goto(host.page(server))
        launcher = part(page, ".cs-launcher")
        expect(launcher).to_have_css("background-color", "rgb(15, 118, 110)")
        open_widget(page)
        expect(part(page, ".cs-title")).to_have_text("Acme help")
        expect(part(page, ".cs-greeting")).to_have_text("Hello from Acme!")

        # The form is required: no skipping, no composer, and empty fields don't pass.
        form = part(page, ".cs-prechat")
        expect(form).to_be_visible()
        expect(part(page, ".cs-pc-name")).to_be_focused()
        expect(part(page, ".cs-skip")).to_be_hidden()
        expect(part(page, ".cs-composer")).to_be_hidden()
        form.get_by_role("button", name="Start chat").click()
        expect(form).to_be_visible()
        part(page, ".cs-pc-name").fill("Maya")
        part(page, ".cs-pc-email").fill("maya@example.com")
        form.get_by_role("button", name="Start chat").click()
        expect(form).to_be_hidden()
        expect(part(page, ".cs-input")).to_be_focused()

        # Queued third: the place in the queue and the wait it means (2 times 120 s).
        say(page, "How long is the wait?")
        status = part(page, ".cs-status")
        expect(status).to_have_text(
            "You are number 2 in the queue. Expected wait: about 4 min")
        expect(part(page, ".cs-notice")).to_be_hidden()  # an agent is online, just busy
        screenshot(page, "widget-queued")
        assert query(db_url, "SELECT name, email FROM visitors WHERE name = 'Maya'") == [
            ("Maya", "maya@example.com")]

        # Ann finishes her chat: the second visitor gets her, ours moves up.
        agent.send("close", conversation_id=first)
        expect(status).to_have_text("You are number 1 in the queue. Expected wait: about 2 min")

        # On a phone the open panel takes the whole screen.
        page.set_viewport_size({"width": 390, "height": 844})
        expect(part(page, ".cs-panel")).to_be_visible()
        panel = part(page, ".cs-panel").bounding_box()
        assert panel == {"x": 0, "y": 0, "width": 390, "height": 844}
        expect(launcher).to_be_hidden()
        screenshot(page, "widget-phone")
    finally:
        for visitor in visitors:
            visitor.close()


def test_the_token_lives_in_local_storage_not_in_urls(
        serve: Callable[..., LiveServer], host: HostSite, context: BrowserContext) -> None:
    server = serve()
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda ws: requests.append(ws.url))
    page.goto(host.page(server))
    # A first-time visitor's page only fetches the script and the admin's look: no socket yet.
    page.wait_for_timeout(300)
    assert not [u for u in requests if u.startswith("ws")]
    open_widget(page)
    expect(part(page, ".cs-status")).to_have_text("We're away right now")
    stored = page.evaluate("Object.entries(localStorage)")
    token = next(json.loads(v) for k, v in stored if k == f"chatserver:{server.url}:token")
    assert re.fullmatch(r"\S{22,}", token)
    assert all(token not in u for u in requests)


@pytest.mark.parametrize(("before", "page_value"), [
    ('<div id="Chatserver">the page\'s own box</div>', None),
    ("<script>window.Chatserver = {mine: true};</script>", {"mine": True}),
])
def test_a_page_that_already_has_a_chatserver_global_still_gets_the_widget(
        staffed: tuple[LiveServer, AgentClient], host: HostSite, context: BrowserContext,
        before: str, page_value: dict[str, bool] | None) -> None:
    server, agent = staffed
    page = context.new_page()
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.goto(host.page(server, "/taken", before=before))
    open_widget(page)
    say(page, "Is the name taken?")
    agent.wait_for_text("Is the name taken?")
    assert any("window.Chatserver" in w for w in warnings), warnings
    # An element's name is taken over for the API; the page's own object is left alone.
    api = "window[Symbol.for('chatserver.widget')]"
    assert page.evaluate(f"typeof {api}.open") == "function"
    if page_value is None:
        assert page.evaluate(f"window.Chatserver === {api}")
    else:
        assert page.evaluate("window.Chatserver") == page_value


EMPTY_SHA256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="  # base64 of sha256(b"")


def strict_policy(chat: LiveServer) -> str:
    """A shop's strict Content-Security-Policy that lets in only the chat server (the
    directives widget/README.md gives), with Trusted Types enforced."""
    return (f"default-src 'self'; script-src 'self' {chat.url}; "
            f"connect-src 'self' {chat.url} {chat.ws}; style-src 'self' {chat.url}; "
            f"img-src 'self' {chat.url}; require-trusted-types-for 'script'")


def test_the_widget_works_under_a_strict_csp_with_trusted_types(
        staffed: tuple[LiveServer, AgentClient], host: HostSite, browser: Browser) -> None:
    server, agent = staffed
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # CSP enforced
    try:
        page = context.new_page()
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
        page.goto(host.page(server, "/strict", headers={
            "Content-Security-Policy": strict_policy(server)}))
        launcher = part(page, ".cs-launcher")
        expect(launcher).to_have_css("background-color", "rgb(79, 70, 229)")  # styled
        assert launcher.bounding_box() == {"x": 1280 - 20 - 56, "y": 800 - 20 - 56,
                                           "width": 56, "height": 56}
        open_widget(page)
        say(page, "Does a strict shop work?")
        conversation_id = agent.assigned()
        agent.say(conversation_id, "It does.")
        expect(bubble(page, "It does.", "agent")).to_be_visible()
        expect(part(page, ".cs-text").first).to_have_css("font-size", "14px")
        # Nothing of the widget is refused (the host page's own empty <style> is).
        violations = [t for t in refused if re.search("Content Security Policy|Trusted Type", t)
                      and EMPTY_SHA256 not in t]
        assert violations == [], violations
        screenshot(page, "widget-strict-csp")
    finally:
        context.close()
