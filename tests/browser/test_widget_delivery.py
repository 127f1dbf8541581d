"""Losing nothing: the widget across reloads, tabs, a cut network and busy storage, and by
email once the visitor has gone. Every page is on the host site's origin, another than the
chat server's; the agent is a socket client (helpers in test_widget.py)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from chatserver.config import Settings
from chatserver.store.sqlite import connection as sqlite_connection
from chatserver.store.sqlite import sqlite_path
from tests.backends import query
from tests.browser import test_widget
from tests.browser.conftest import screenshot
from tests.browser.test_widget import (
    AgentClient,
    HostSite,
    bubble,
    open_widget,
    part,
    say,
    write,
)
from tests.conftest import Inbox, LiveServer, add_agent
from tests.web.conftest import InProcessServer

# The same fixtures as there: a host site on its own origin, chat servers, socket agents.
host = test_widget.host
serve = test_widget.serve
agents = test_widget.agents
staffed = test_widget.staffed


def stored_chat(page: Page, server: LiveServer) -> dict[str, object]:
    """What the widget keeps in this page's localStorage about the conversation."""
    raw = page.evaluate("k => localStorage.getItem(k)", f"chatserver:{server.url}:chat")
    return dict(json.loads(raw))


def visitor_texts(page: Page) -> list[str]:
    return part(page, ".cs-msg:not([data-role=system]) .cs-text").all_inner_texts()


def test_a_reload_keeps_the_history_and_the_conversation(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = host.tab(context, server)
    say(page, "Where is my invoice?")
    conversation_id = agent.assigned()
    agent.say(conversation_id, "In your account, under Orders.")
    expect(bubble(page, "under Orders", "agent")).to_be_visible()
    assert stored_chat(page, server)["conversation_id"] == conversation_id

    page.reload()
    open_widget(page)
    expect(bubble(page, "Where is my invoice?", "visitor")).to_have_attribute("data-state", "sent")
    expect(bubble(page, "under Orders", "agent")).to_be_visible()
    expect(part(page, ".cs-agent")).to_have_text("Ann")  # the resumed socket said who it is
    assert stored_chat(page, server)["conversation_id"] == conversation_id

    # The same conversation goes on: nothing is shown twice, nothing new is opened.
    say(page, "Found it, thanks!")
    agent.wait_for_text("Found it, thanks!")
    agent.say(conversation_id, "You're welcome.")
    expect(bubble(page, "You're welcome.", "agent")).to_be_visible()
    assert visitor_texts(page) == ["Where is my invoice?", "In your account, under Orders.",
                                   "Found it, thanks!", "You're welcome."]
    assert query(server.db_url, "SELECT count(*) FROM conversations") == [(1,)]
    assert query(server.db_url, "SELECT count(*) FROM visitors") == [(1,)]
    seqs = [int(s) for s in part(page, ".cs-msg").evaluate_all(
        "els => els.map(e => e.dataset.seq)")]
    assert seqs == sorted(set(seqs))


def test_a_message_written_while_the_network_is_cut_arrives_exactly_once(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = host.tab(context, server)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    say(page, "Hello, before the tunnel")
    conversation_id = agent.assigned()

    context.set_offline(True)
    text = "Written in the tunnel"
    pending = write(page, text)
    expect(pending).to_have_attribute("data-state", "pending")
    expect(pending.locator(".cs-meta")).to_have_text("Sending…")
    expect(part(page, ".cs-conn")).to_contain_text("You're offline.")
    page.wait_for_timeout(1000)
    expect(pending).to_have_attribute("data-state", "pending")  # no ack came
    outbox = page.evaluate("Object.keys(localStorage).filter(k => k.includes(':out:'))")
    assert len(outbox) == 1  # kept for a resend

    context.set_offline(False)
    expect(bubble(page, text, "visitor")).to_have_attribute("data-state", "sent")
    expect(part(page, ".cs-conn")).to_be_hidden()
    assert len(sockets) >= 2  # sent again on a new socket, with the same client_id
    agent.wait_for_text(text)
    agent.drain(1.0)  # time for a duplicate to show up, were there one
    assert len(agent.received(text)) == 1
    assert query(server.db_url, "SELECT count(*) FROM messages WHERE text = ?", text) == [(1,)]
    expect(bubble(page, text)).to_have_count(1)
    assert page.evaluate("Object.keys(localStorage).filter(k => k.includes(':out:'))") == []

    # The conversation carries on normally on the new socket.
    agent.say(conversation_id, "Welcome back!")
    expect(bubble(page, "Welcome back!", "agent")).to_be_visible()
    assert visitor_texts(page) == ["Hello, before the tunnel", text, "Welcome back!"]


@pytest.fixture
def quick_to_refuse(settings: Settings, host: HostSite,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessServer]:
    """A chat server in this process whose writes wait 0.2 s, not 10 s, for another
    process's lock before storage refuses them as busy."""
    monkeypatch.setattr(sqlite_connection, "BUSY_TIMEOUT_MS", 200)
    server = InProcessServer(settings.with_(allowed_origins=(host.origin,))).start()
    yield server
    server.stop()


def refused(payload: str | bytes) -> str | None:
    """The client_id of a message storage refused (an `unavailable` error frame), or None."""
    frame = json.loads(payload)
    return frame.get("client_id") if frame.get("code") == "unavailable" else None


def test_messages_refused_while_storage_is_busy_go_again_by_themselves_in_order_and_once(
        quick_to_refuse: InProcessServer, host: HostSite, context: BrowserContext,
        agents: Callable[..., AgentClient]) -> None:
    server = quick_to_refuse
    [token] = server.staff(("ann@example.com", "Ann", "agent"))
    agent = agents(server, token)
    page = context.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(host.page(server))
    with page.expect_websocket() as opened:
        open_widget(page)
    socket = opened.value
    say(page, "Hello")
    agent.assigned()

    # Another process holds the database's write lock: the message is refused, and refused
    # again when the widget sends it again by itself; the next one waits its turn. Both stay
    # "Sending…".
    lock = sqlite3.connect(sqlite_path(server.settings.database_url), isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        with socket.expect_event("framereceived", lambda p: refused(p) is not None):
            first = write(page, "Is my order shipped?")
        second = write(page, "It is order 1042.")
        socket.wait_for_event("framereceived", lambda p: refused(p) is not None)
        for message in (first, second):
            expect(message).to_have_attribute("data-state", "pending")
            expect(message.locator(".cs-meta")).to_have_text("Sending…")
        lock.execute("ROLLBACK")
    finally:
        lock.close()

    # Storage is back: both go through on the same socket, in the order written, once each.
    for message in (first, second):
        expect(message).to_have_attribute("data-state", "sent")
    assert visitor_texts(page) == ["Hello", "Is my order shipped?", "It is order 1042."]
    agent.wait_for_text("It is order 1042.")
    agent.drain(1.0)  # time for a duplicate to show up, were there one
    assert [len(agent.received(t)) for t in ("Is my order shipped?", "It is order 1042.")] == [1, 1]
    assert query(server.settings.database_url, "SELECT text FROM messages "
                 "WHERE author_role = 'visitor' ORDER BY id") == [
        ("Hello",), ("Is my order shipped?",), ("It is order 1042.",)]
    expect(bubble(page, "order")).to_have_count(2)
    assert len(sockets) == 1  # no reconnect was needed
    assert page.evaluate("Object.keys(localStorage).filter(k => k.includes(':out:'))") == []


def test_a_second_tab_shows_the_same_messages(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    first = host.tab(context, server)
    say(first, "Hi from the first tab")
    conversation_id = agent.assigned()

    second = host.tab(context, server, "/other-page")  # same browser, same visitor
    expect(bubble(second, "Hi from the first tab", "visitor")).to_be_visible()

    agent.say(conversation_id, "Hello to both tabs")
    say(second, "And hi from the second tab")
    for page in (first, second):
        expect(bubble(page, "And hi from the second tab", "visitor")).to_have_attribute(
            "data-state", "sent")
        expect(bubble(page, "Hello to both tabs", "agent")).to_be_visible()
    want = ["Hi from the first tab", "Hello to both tabs", "And hi from the second tab"]
    assert visitor_texts(first) == visitor_texts(second) == want
    assert query(server.db_url, "SELECT count(*) FROM visitors") == [(1,)]


def test_an_answer_after_the_visitor_left_and_the_transcript_are_emailed(
        serve: Callable[..., LiveServer], host: HostSite, db_url: str, inbox: Inbox,
        context: BrowserContext, agents: Callable[..., AgentClient]) -> None:
    admin = add_agent(db_url, "root@example.com", "Root", role="admin")
    ann = add_agent(db_url, "ann@example.com", "Ann")
    server = serve(env={"CHATSERVER_SMTP_URL": inbox.url, "CHATSERVER_EMAIL_DELAY": "0.5"})
    changed = httpx.put(server.url + "/api/widget-settings", timeout=10,
                        headers={"Authorization": f"Bearer {admin}"},
                        json={"business_hours": "Mon-Fri, 9:00-17:00 CET"})
    assert changed.status_code == 200, changed.text

    # Nobody is online: the widget says so, when to expect an answer, and asks for an email.
    page = host.tab(context, server)
    notice = part(page, ".cs-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("We're away right now. Leave your email")
    expect(notice).to_contain_text("We usually reply within a few hours.")
    expect(notice).to_contain_text("Mon-Fri, 9:00-17:00 CET")
    screenshot(page, "widget-offline")
    part(page, ".cs-email").fill("maya@example.com")
    part(page, ".cs-offline button").click()
    expect(notice).to_contain_text("We'll answer at maya@example.com.")
    expect(part(page, ".cs-email")).to_be_hidden()

    # The message is stored all the same, and queued; with nobody online the widget says
    # so, not a place in a queue that is not moving.
    say(page, "Can I still get the early-bird price?")
    expect(part(page, ".cs-status")).to_have_text("We're away right now")
    assert query(db_url, "SELECT email FROM visitors") == [("maya@example.com",)]
    page.close()  # the visitor leaves

    # An agent comes online later, gets the chat and answers: it goes out by email.
    agent = agents(server, ann)
    conversation_id = agent.assigned()
    agent.wait_for_text("Can I still get the early-bird price?")
    agent.say(conversation_id, "Yes, until Friday: use code EARLY.")
    [mail] = inbox.wait_for(1)
    assert mail["To"] == "maya@example.com"
    assert "Yes, until Friday: use code EARLY." in mail.get_content()

    # The visitor comes back to the site: the answer is there. The chat closes, and they
    # ask for the transcript (the form knows their email).
    page = host.tab(context, server)
    expect(bubble(page, "use code EARLY", "agent")).to_be_visible()
    agent.send("close", conversation_id=conversation_id)
    expect(part(page, ".cs-status")).to_have_text("This chat has ended")
    expect(part(page, ".cs-mail-to")).to_have_value("maya@example.com")
    part(page, ".cs-mail button").click()
    expect(part(page, ".cs-mailed")).to_have_text("Transcript sent to maya@example.com.")
    screenshot(page, "widget-transcript-emailed")
    transcript = inbox.wait_for(2)[1]
    assert transcript["To"] == "maya@example.com"
    body = transcript.get_content()
    assert "Can I still get the early-bird price?" in body and "use code EARLY" in body


# Prototype.js's own toJSON: an array serializes as a string holding JSON.
PROTOTYPE_TO_JSON = ("<script>Array.prototype.toJSON = function () { return '[' + "
                     "this.map(x => JSON.stringify(x)).join(', ') + ']'; };</script>")


def test_a_page_with_its_own_array_to_json_keeps_the_transcript_over_a_reload(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = context.new_page()
    page.goto(host.page(server, "/prototype", before=PROTOTYPE_TO_JSON))
    open_widget(page)
    say(page, "Do you ship to Norway?")
    conversation_id = agent.assigned()
    agent.say(conversation_id, "Yes, in three days.")
    expect(bubble(page, "in three days", "agent")).to_be_visible()
    assert isinstance(stored_chat(page, server)["messages"], list)

    page.reload()
    open_widget(page)
    expect(bubble(page, "in three days", "agent")).to_be_visible()
    assert visitor_texts(page) == ["Do you ship to Norway?", "Yes, in three days."]
