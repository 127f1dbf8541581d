"""The console's inbox in a real browser against a real server: the views (mine, queue with
claim, all open for supervisors, closed), search over transcripts, visitors left unanswered,
escalation to a supervisor, the visitor's details and the keyboard shortcuts.

Visitors are socket clients (tests/browser/test_console.py); what is checked is what an agent
or a supervisor sees on screen, and what reaches the visitor.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from websockets.sync.client import connect

from tests.browser.conftest import new_context
from tests.browser.conftest import screenshot as keep_screenshot
from tests.browser.test_console import (
    EMAIL,
    PASSWORD,
    VisitorClient,
    close_chat,
    go_available,
    open_chat,
    reply,
    sign_in,
    transcript_message,
    visitors,  # noqa: F401  (a fixture used by these tests)
)
from tests.conftest import LiveServer, add_agent, start_server

SUPERVISOR = "sam@example.com"
REASON = "Escalated: “She asks for a manager about a refund”"
# Markup and htmx attributes from a visitor: they must show as text and do nothing.
HOSTILE = ('<img src=x onerror="window.__pwned=1"> <script>window.__pwned=1</script>'
           '<div hx-get="/api/health" hx-trigger="load">boom</div>')


class Visitor(VisitorClient):
    """A visitor whose `hello` also tells the page they are on and their time zone."""

    def __init__(self, ws_base: str, **hello: Any) -> None:
        self._exit = contextlib.ExitStack()
        self.ws = self._exit.enter_context(connect(ws_base + "/ws/visitor", open_timeout=10))
        self.frames = []
        self.ws.send(json.dumps({"type": "hello", "token": None, **hello}))
        self.welcome = self.wait_for(lambda f: f["type"] == "welcome")


@pytest.fixture
def people(live_server: LiveServer) -> None:
    add_agent(live_server.db_url, EMAIL, "Ada Lovelace", capacity=3, password=PASSWORD)
    add_agent(live_server.db_url, SUPERVISOR, "Sam Supervisor", role="supervisor",
              password=PASSWORD)


@pytest.fixture
def alert_server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A server that flags a visitor unanswered for a second (its watch looks every 5 s)."""
    server = start_server(db_url, tmp_path / "server.log",
                          env={"CHATSERVER_UNANSWERED_ALERT": "1"})
    add_agent(db_url, EMAIL, "Ada Lovelace", capacity=3, password=PASSWORD)
    add_agent(db_url, SUPERVISOR, "Sam Supervisor", role="supervisor", password=PASSWORD)
    yield server
    server.stop()


def screenshot(page: Page, name: str) -> None:
    """A screenshot of the console as it stands, without the passing toast."""
    page.evaluate("document.querySelector('[data-testid=\"toast\"]').hidden = true")
    keep_screenshot(page, name)


def watch_errors(page: Page) -> list[str]:
    """Script errors on the page: there must be none."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def item_in(page: Page, list_id: str, conversation_id: int) -> Locator:
    return page.get_by_test_id(list_id).locator(
        f'[data-testid="conversation-item"][data-conversation-id="{conversation_id}"]')


def assert_inert(page: Page, requested: list[str]) -> None:
    """Nothing a visitor wrote became an element, ran, or fetched anything."""
    for where in ("mine-list", "search-results", "transcript", "open-list", "closed-list"):
        found = page.get_by_test_id(where)
        if found.count():
            # (the lists' own buttons open chats with hx-get, and the transcript reads itself)
            expect(found.locator("img, script, [onerror], "
                                 "[hx-get]:not(button):not(#transcript-items)")).to_have_count(0)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert not [u for u in requested if "/api/health" in u or u.endswith("/x")], requested


def test_views_claim_search_and_hostile_text_stays_inert(
        live_server: LiveServer, people: None, context: BrowserContext,
        other_context: BrowserContext, visitors: Callable[..., VisitorClient]) -> None:  # noqa: F811
    ada = context.new_page()
    errors = watch_errors(ada)
    requested: list[str] = []
    ada.on("request", lambda r: requested.append(r.url))
    sign_in(ada, live_server.url)
    go_available(ada)

    # Margaret's chat: answered and closed. It is in Closed, not in Mine.
    margaret = visitors(name="Margaret Hamilton", email="margaret@example.com")
    closed_id = margaret.say("I need to change my shipping address")["conversation_id"]
    open_chat(ada, closed_id)
    reply(ada, "Done: the new address is on your order.")
    close_chat(ada)
    expect(item_in(ada, "mine-list", closed_id)).to_have_count(0)

    # Grace's chat is Ada's; her last message is hostile markup.
    grace = Visitor(live_server.ws, name="Grace Hopper", email="grace@example.com",
                    page="https://shop.example/orders/1042", timezone="America/New_York")
    grace_id = grace.say("My parcel tracking says delivered but nothing came")["conversation_id"]
    grace.say(HOSTILE)
    mine = item_in(ada, "mine-list", grace_id)
    expect(mine).to_contain_text("Grace Hopper")
    expect(mine.locator(".conv-item-preview")).to_have_text(HOSTILE)  # literal, in the list
    expect(mine.locator(".conv-item-wait")).to_contain_text("waiting")  # how long she waits

    # Ada steps away: Linus waits in the queue, with what he wrote and a Claim button.
    ada.get_by_test_id("presence").click()
    expect(ada.get_by_test_id("presence")).to_have_attribute("data-status", "away")
    linus = visitors(name="Linus")
    linus_id = linus.say("Anyone there about my invoice?")["conversation_id"]
    queued = item_in(ada, "queue-list", linus_id)
    expect(queued).to_contain_text("#1")
    expect(queued.locator(".conv-item-preview")).to_have_text("Anyone there about my invoice?")
    expect(queued.get_by_test_id("claim")).to_be_enabled()

    # An agent has no "all open" view and no supervisor pages.
    expect(ada.get_by_test_id("tab-open")).to_have_count(0)
    expect(ada.get_by_test_id("nav-reports")).to_have_count(0)
    expect(ada.get_by_test_id("nav-admin")).to_have_count(0)
    open_chat(ada, grace_id)
    expect(transcript_message(ada, "parcel tracking").locator(".msg-text")).to_be_visible()
    screenshot(ada, "console-inbox")

    # Closed: Margaret's chat, with when it closed; it opens read-only.
    ada.get_by_test_id("tab-closed").click()
    closed = item_in(ada, "closed-list", closed_id)
    expect(closed).to_contain_text("Margaret Hamilton")
    expect(closed).to_contain_text("Closed")
    expect(item_in(ada, "closed-list", grace_id)).to_have_count(0)
    closed.click()
    expect(closed).to_have_class(re.compile(r"\bselected\b"))
    expect(ada.locator("[data-banner]")).to_contain_text("This chat is closed")
    expect(transcript_message(ada, "Done: the new address is on your order.")).to_be_visible()
    expect(ada.get_by_test_id("reply")).to_have_count(0)  # nothing to write there
    expect(ada.get_by_test_id("close-conversation")).to_have_count(0)

    # Search: a word from Grace's transcript finds her chat; it opens with the word marked.
    ada.get_by_test_id("search").fill("parcel")
    ada.get_by_test_id("search").press("Enter")
    expect(ada.get_by_test_id("search-title")).to_have_text("Results for “parcel”")
    results = ada.get_by_test_id("search-results").get_by_test_id("conversation-item")
    expect(results).to_have_count(1)
    expect(results.first).to_have_attribute("data-conversation-id", str(grace_id))
    # ... showing the words that matched, not her last message.
    preview = results.first.locator(".conv-item-preview")
    expect(preview).to_have_text("My parcel tracking says delivered but nothing came")
    expect(preview.locator("mark")).to_have_text("parcel")
    results.first.click()
    expect(ada.get_by_test_id("transcript").locator("mark")).to_have_text("parcel")
    expect(transcript_message(ada, "window.__pwned").locator(".msg-text")).to_have_text(HOSTILE)
    expect(ada.get_by_test_id("reply")).to_be_enabled()  # her own chat: live, not read-only
    screenshot(ada, "console-search")
    ada.get_by_test_id("search").fill("xylophone")
    ada.get_by_test_id("search").press("Enter")
    expect(ada.locator('[data-empty="search"]')).to_contain_text(
        "No conversation mentions “xylophone”")
    # A closed chat found by a word opens read-only.
    ada.get_by_test_id("search").fill("shipping addr")
    ada.get_by_test_id("search").press("Enter")
    expect(results).to_have_count(1)
    results.first.click()
    expect(ada.locator(".conv-name")).to_have_text("Margaret Hamilton")
    expect(ada.locator("[data-banner]")).to_contain_text("This chat is closed")
    expect(ada.get_by_test_id("transcript").locator("mark")).to_have_text(
        ["shipping", "address", "address"])
    ada.get_by_test_id("clear-search").click()
    expect(ada.get_by_test_id("tab-closed")).to_have_attribute("aria-selected", "true")
    expect(ada.get_by_test_id("search")).to_have_value("")
    expect(ada.get_by_test_id("search")).to_be_focused()

    # Claim from the queue: Linus moves to Mine.
    ada.get_by_test_id("tab-inbox").click()
    queued.get_by_test_id("claim").click()
    expect(queued).to_have_count(0)
    expect(item_in(ada, "mine-list", linus_id)).to_be_visible()

    # A supervisor has the "Open" view: every open chat with its agent, nothing closed.
    sam = other_context.new_page()
    sam_errors = watch_errors(sam)
    sam_requested: list[str] = []
    sam.on("request", lambda r: sam_requested.append(r.url))
    sign_in(sam, live_server.url, SUPERVISOR, PASSWORD)
    expect(sam.get_by_test_id("nav-reports")).to_have_attribute("href", "/console/reports")
    expect(sam.get_by_test_id("nav-admin")).to_have_count(0)
    sam.get_by_test_id("tab-open").click()
    for conversation_id in (grace_id, linus_id):
        expect(item_in(sam, "open-list", conversation_id)).to_contain_text("Ada Lovelace")
    expect(item_in(sam, "open-list", closed_id)).to_have_count(0)
    expect(item_in(sam, "open-list", grace_id).locator(".conv-item-preview")).to_have_text(HOSTILE)

    # Sam searches everyone's transcripts: the results come as he types.
    sam.get_by_test_id("search").press_sequentially("invoi")
    found = sam.get_by_test_id("search-results").get_by_test_id("conversation-item")
    expect(found).to_have_count(1)
    expect(found.first).to_contain_text("Linus")
    expect(found.first).to_contain_text("Ada Lovelace")
    sam.get_by_test_id("clear-search").click()

    # Sam reads Grace's chat (read-only: it is Ada's) and leaves a note Ada sees live.
    item_in(sam, "open-list", grace_id).click()
    expect(sam.locator("[data-banner]")).to_contain_text("Ada Lovelace is handling this chat")
    expect(transcript_message(sam, "window.__pwned").locator(".msg-text")).to_have_text(HOSTILE)
    expect(sam.get_by_test_id("note-toggle")).to_be_checked()
    expect(sam.get_by_test_id("transfer")).to_have_count(0)
    box = sam.get_by_test_id("reply")
    box.fill("Check the courier's photo before refunding")
    box.press("Enter")
    expect(transcript_message(sam, "courier's photo")).to_have_attribute("data-state", "sent")
    open_chat(ada, grace_id)
    note = transcript_message(ada, "courier's photo")
    expect(note).to_have_attribute("data-private", "true")
    expect(note).to_contain_text("Sam Supervisor")
    assert "courier" not in json.dumps(grace.frames_within(0.5))

    grace.close()
    assert_inert(ada, requested)
    assert_inert(sam, sam_requested)
    assert not errors and not sam_errors, errors + sam_errors


def test_an_unanswered_visitor_is_flagged_and_an_escalation_reaches_the_supervisor(
        alert_server: LiveServer, context: BrowserContext, other_context: BrowserContext) -> None:
    ada = context.new_page()
    sam = other_context.new_page()
    ada_errors, sam_errors = watch_errors(ada), watch_errors(sam)
    sign_in(ada, alert_server.url)
    go_available(ada)
    sign_in(sam, alert_server.url, SUPERVISOR, PASSWORD)
    sam.get_by_test_id("tab-open").click()

    with contextlib.closing(VisitorClient(alert_server.ws, name="Grace Hopper")) as grace:
        grace_id = grace.say("Is anybody reading this?")["conversation_id"]
        # Nobody answers: within the watch's round both Ada and Sam see the red flag.
        mine = item_in(ada, "mine-list", grace_id)
        expect(mine.get_by_test_id("unanswered-flag")).to_have_text(
            re.compile(r"^Waiting (<1m|\d+m) — unanswered$"), timeout=10_000)
        expect(mine).to_have_class(re.compile(r"\bflagged\b"))
        open_chat(ada, grace_id)
        expect(ada.locator(".conv-details").get_by_test_id("unanswered-flag")).to_be_visible()
        row = item_in(sam, "open-list", grace_id)
        expect(row.get_by_test_id("unanswered-flag")).to_be_visible(timeout=10_000)
        expect(row).to_contain_text("Ada Lovelace")
        expect(sam.get_by_test_id("tab-open").locator(".tab-count")).to_have_text("1")

        # Ada answers: her flag goes at once.
        reply(ada, "Sorry for the wait, I'm here now.")
        expect(mine.get_by_test_id("unanswered-flag")).to_be_hidden()

        # Ada escalates with a note: Sam is alerted live, and the visitor is told.
        ada.get_by_test_id("escalate").click()
        ada.get_by_test_id("escalate-note").fill("She asks for a manager about a refund")
        ada.get_by_test_id("escalate-send").click()
        expect(ada.get_by_test_id("toast")).to_contain_text("Supervisors were asked to join")
        alert = sam.get_by_test_id("escalation-alert")
        expect(alert).to_have_count(1)
        expect(alert).to_contain_text("Ada Lovelace asks a supervisor to join")
        expect(alert).to_contain_text("Grace Hopper")
        expect(alert).to_contain_text("“She asks for a manager about a refund”")
        grace.wait_for(lambda f: f["type"] == "message" and "asked a supervisor" in f["text"])
        expect(transcript_message(ada, "asked a supervisor to join")).to_be_visible()
        escalated = item_in(sam, "open-list", grace_id)
        expect(escalated.locator(".escalated")).to_be_visible(timeout=10_000)
        expect(escalated.get_by_test_id("escalation-note")).to_have_text(REASON)
        screenshot(sam, "console-escalation")

        # "Open chat" shows Sam the conversation.
        alert.get_by_test_id("open-escalation").click()
        expect(alert).to_have_count(0)
        expect(sam.locator(".conv-name")).to_have_text("Grace Hopper")
        expect(transcript_message(sam, "asked a supervisor to join")).to_be_visible()
        expect(transcript_message(sam, "Sorry for the wait")).to_be_visible()

        # The reason stays with the chat in the list, for whoever looks later.
        sam.reload()
        sam.get_by_test_id("tab-open").click()
        expect(item_in(sam, "open-list", grace_id).get_by_test_id("escalation-note")).to_have_text(
            REASON)
    assert not ada_errors and not sam_errors, ada_errors + sam_errors


def test_visitor_details_show_local_time_page_and_past_conversations(
        live_server: LiveServer, people: None, context: BrowserContext) -> None:
    ada = context.new_page()
    errors = watch_errors(ada)
    sign_in(ada, live_server.url)
    go_available(ada)
    with contextlib.closing(Visitor(live_server.ws, name="Hiro Tanaka", email="hiro@example.com",
                                    page="https://shop.example/checkout?step=2",
                                    timezone="Asia/Tokyo")) as hiro:
        first_id = hiro.say("Do you ship to Japan?")["conversation_id"]
        open_chat(ada, first_id)
        reply(ada, "Yes, in 5 to 7 days.")
        close_chat(ada)
        hiro.wait_for(lambda f: f["type"] == "status" and f["status"] == "closed")
        second_id = hiro.say("Back again: can I pay in yen?")["conversation_id"]
        assert second_id != first_id
        open_chat(ada, second_id)

        details = ada.get_by_test_id("visitor-details")
        local = details.get_by_test_id("visitor-local-time")
        expect(local).to_contain_text("Tokyo · GMT+9")
        expect(local).to_have_attribute("title", "The visitor's time zone: Asia/Tokyo")
        # now, where the visitor is, on the agent's 12-hour clock (en-US; the server's words:
        # tests/web/test_console_views_conversation.py pins the time)
        expect(local.locator(".vd-value")).to_have_text(
            re.compile(r"^[A-Z][a-z]{2} \d\d:\d\d [AP]M$"))
        page_link = details.get_by_test_id("visitor-page").locator("a")
        expect(page_link).to_have_text("shop.example/checkout?step=2")
        expect(page_link).to_have_attribute("href", "https://shop.example/checkout?step=2")
        expect(ada.locator(".conv-details")).to_contain_text("hiro@example.com unverified")

        toggle = details.get_by_test_id("past-toggle")
        expect(toggle).to_have_text(re.compile(r"Past chats \(1\)"))
        toggle.click()
        past = ada.get_by_test_id("past-conversations").get_by_test_id("past-conversation")
        expect(past).to_have_count(1)
        expect(past).to_have_attribute("data-conversation-id", str(first_id))
        expect(past).to_contain_text("closed")
        expect(past).to_contain_text("Ada Lovelace")
        screenshot(ada, "console-visitor-details")

        # The past conversation opens read-only; the live one is a click away in Mine.
        past.click()
        expect(ada.locator("[data-banner]")).to_contain_text("This chat is closed")
        expect(transcript_message(ada, "Do you ship to Japan?")).to_be_visible()
        open_chat(ada, second_id)
        expect(transcript_message(ada, "can I pay in yen?")).to_be_visible()
        expect(ada.get_by_test_id("reply")).to_be_enabled()
    assert not errors, errors


def test_keyboard_shortcuts_for_the_common_actions(
        live_server: LiveServer, people: None, browser: Browser,
        visitors: Callable[..., VisitorClient]) -> None:  # noqa: F811
    ids: list[int] = []
    for size in ({"width": 1280, "height": 800}, {"width": 768, "height": 1024}):
        context = new_context(browser, viewport=size)
        try:
            page = context.new_page()
            errors = watch_errors(page)
            sign_in(page, live_server.url)
            if not ids:
                go_available(page)
                ids = [visitors(name=name).say(f"Hello from {name}")["conversation_id"]
                       for name in ("Ann", "Ben", "Cid")]
            item = page.get_by_test_id("mine-list").get_by_test_id("conversation-item")
            expect(item).to_have_count(3)
            item.first.click()  # the first chat, and its reply box has the focus
            expect(page.get_by_test_id("reply")).to_be_focused()
            page.keyboard.press("Escape")

            # j / k walk the list; the reply box is not taken over by them.
            for key, index in (("j", 1), ("j", 2), ("j", 2), ("k", 1), ("k", 0), ("j", 1)):
                page.keyboard.press(key)
                expect(item.nth(index)).to_have_class(re.compile(r"\bselected\b"))
            expect(page.get_by_test_id("reply")).not_to_be_focused()
            # r: write a reply; Enter sends it; Esc leaves the box.
            page.keyboard.press("r")
            expect(page.get_by_test_id("reply")).to_be_focused()
            page.keyboard.type(f"Reply at {size['width']}")
            page.keyboard.press("Enter")
            expect(transcript_message(page, f"Reply at {size['width']}")).to_have_attribute(
                "data-state", "sent")
            page.keyboard.press("Escape")
            expect(page.get_by_test_id("reply")).not_to_be_focused()
            # n: note mode on and off.
            page.keyboard.press("n")
            expect(page.get_by_test_id("note-toggle")).to_be_checked()
            page.get_by_test_id("reply").press("Escape")
            page.keyboard.press("n")
            expect(page.get_by_test_id("note-toggle")).not_to_be_checked()
            page.get_by_test_id("reply").press("Escape")
            # e and f open their forms; Esc closes them.
            page.keyboard.press("e")
            expect(page.get_by_test_id("escalate-note")).to_be_focused()
            page.keyboard.press("Escape")
            expect(page.get_by_test_id("escalate-form")).to_be_hidden()
            page.keyboard.press("Escape")
            page.keyboard.press("f")
            expect(page.get_by_test_id("follow-up-note")).to_be_focused()
            page.keyboard.press("Escape")
            expect(page.get_by_test_id("follow-up-form")).to_be_hidden()
            page.keyboard.press("Escape")
            # /: search; ?: the help, which lists the shortcuts.
            page.keyboard.press("/")
            expect(page.get_by_test_id("search")).to_be_focused()
            page.keyboard.press("Escape")
            page.keyboard.press("?")
            help_box = page.get_by_test_id("shortcuts-help")
            expect(help_box).to_be_visible()
            expect(help_box).to_contain_text("Next / previous conversation")
            expect(help_box).to_be_in_viewport()
            page.keyboard.press("Escape")
            expect(help_box).to_be_hidden()
            # The tabs: the arrow keys move between them, round the ends.
            page.get_by_test_id("tab-inbox").focus()
            page.keyboard.press("ArrowLeft")
            expect(page.get_by_test_id("tab-followups")).to_be_focused()
            expect(page.get_by_test_id("tab-followups")).to_have_attribute("aria-selected", "true")
            page.keyboard.press("ArrowRight")
            expect(page.get_by_test_id("tab-inbox")).to_have_attribute("aria-selected", "true")
            expect(item).to_have_count(3)
            # Everything stays on screen at this size, nothing scrolls sideways.
            for test_id in ("search", "tab-inbox", "tab-followups", "presence", "load",
                            "set-follow-up", "escalate", "close-conversation", "reply", "send"):
                expect(page.get_by_test_id(test_id)).to_be_in_viewport()
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            if size["width"] == 768:
                screenshot(page, "console-tablet-inbox-768x1024")
                # c: close, after a confirmation.
                closing = int(item.nth(1).get_attribute("data-conversation-id") or 0)
                page.keyboard.press("c")
                confirm = page.get_by_test_id("confirm-close")
                expect(confirm).to_be_visible()
                page.keyboard.press("Escape")
                expect(confirm).to_be_hidden()
                expect(item).to_have_count(3)
                page.keyboard.press("c")
                expect(page.get_by_test_id("confirm-close-yes")).to_be_focused()
                page.keyboard.press("Enter")
                expect(item_in(page, "mine-list", closing)).to_have_count(0)
                assert closing in ids
            assert not errors, errors
        finally:
            context.close()
