"""Commitments in the console, in a real browser against a real server: canned responses
typed by shortcut, and follow-ups ("I'll get back to you by ...") that the visitor is told
about and that stay in the agent's list, flagged when overdue, until marked done.

Visitors are socket clients (tests/browser/test_console.py); canned responses are added over
the REST API with an admin's token, as the Admin page would.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.conftest import axe_faults
from tests.browser.conftest import screenshot as keep_screenshot
from tests.browser.test_console import (
    EMAIL,
    PASSWORD,
    VisitorClient,
    go_available,
    open_chat,
    sign_in,
    transcript_message,
    visitors,  # noqa: F401  (a fixture used by these tests)
)
from tests.conftest import LiveServer, add_agent

ADMIN = "root@example.com"
REFUND_POLICY = ("You can return anything within 30 days for a full refund; "
                 "the money is back on your card within 5 working days.")


@pytest.fixture
def admin_token(live_server: LiveServer) -> str:
    add_agent(live_server.db_url, EMAIL, "Ada Lovelace", capacity=3, password=PASSWORD)
    return add_agent(live_server.db_url, ADMIN, "Rita Root", role="admin", password=PASSWORD)


def screenshot(page: Page, name: str) -> None:
    """A screenshot of the console as it stands, without the passing toast."""
    page.evaluate("document.querySelector('[data-testid=\"toast\"]').hidden = true")
    keep_screenshot(page, name)


def add_canned(live_server: LiveServer, token: str, shortcut: str, text: str) -> None:
    created = httpx.post(live_server.url + "/api/canned", timeout=10,
                         json={"shortcut": shortcut, "text": text},
                         headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.text


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def local_time_in(page: Page, seconds: float) -> str:
    """What an agent would type in the "get back by" field for `seconds` from now (local time,
    to the second)."""
    value: str = page.evaluate(
        """(seconds) => {
             const d = new Date(Date.now() + seconds * 1000);
             const pad = (n) => String(n).padStart(2, '0');
             return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
                    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
           }""", seconds)
    return value


def set_follow_up(page: Page, due: str, note: str) -> None:
    page.get_by_test_id("set-follow-up").click()
    form = page.get_by_test_id("follow-up-form")
    expect(form).to_be_visible()
    expect(form.get_by_test_id("follow-up-error")).to_have_count(0)  # not the last refusal's
    form.get_by_test_id("follow-up-due").fill(due)
    form.get_by_test_id("follow-up-note").fill(note)
    form.get_by_test_id("follow-up-save").click()
    expect(form).to_be_hidden()
    expect(page.get_by_test_id("reply")).to_be_focused()  # the chat goes on


def follow_up_item(page: Page, note: str) -> Locator:
    return page.get_by_test_id("followups-list").get_by_test_id("follow-up").filter(has_text=note)


def test_canned_responses_expand_by_shortcut(
        live_server: LiveServer, admin_token: str, context: BrowserContext,
        visitors: Callable[..., VisitorClient]) -> None:  # noqa: F811
    add_canned(live_server, admin_token, "refund-policy", REFUND_POLICY)
    add_canned(live_server, admin_token, "refund-status", "Let me look up where your refund is.")
    add_canned(live_server, admin_token, "hello", "Hi! How can I help you today?")
    add_canned(live_server, admin_token, "status-page", "Our status page: status.example.com")
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, live_server.url)
    go_available(page)
    visitor = visitors(name="Grace Hopper")
    conversation_id = visitor.say("How do refunds work?")["conversation_id"]
    open_chat(page, conversation_id)
    box = page.get_by_test_id("reply")

    # Typing "/" lists the canned responses; "/ref" narrows them to the refund ones.
    box.press_sequentially("/ref")
    suggestions = page.get_by_test_id("canned-suggestions")
    expect(suggestions).to_be_visible()
    options = suggestions.get_by_role("option")  # those shown: the others are hidden
    expect(options).to_have_count(2)
    expect(options.first).to_contain_text("/refund-policy")
    expect(options.first).to_contain_text("You can return anything within 30 days")
    screenshot(page, "console-canned")
    assert not axe_faults(page)  # the list open, its active option announced

    # The whole shortcut and Tab: the text replaces it, nothing is sent yet.
    box.press_sequentially("und-policy")
    expect(options).to_have_count(1)
    box.press("Tab")
    expect(box).to_have_value(REFUND_POLICY)
    expect(suggestions).to_be_hidden()
    expect(box).to_be_focused()
    # Enter now sends it; the visitor gets the full text.
    box.press("Enter")
    visitor.wait_for_message(REFUND_POLICY)
    expect(transcript_message(page, "within 30 days")).to_have_attribute("data-state", "sent")

    # Within a sentence, with the arrow keys and Enter: the second suggestion is taken.
    box.press_sequentially("Sure. /refund")
    expect(options).to_have_count(2)
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(box).to_have_value("Sure. Let me look up where your refund is.")
    box.press("Enter")
    visitor.wait_for_message("Sure. Let me look up where your refund is.")

    # An unknown shortcut lists nothing and is sent as typed; Escape closes the list.
    box.press_sequentially("/hel")
    expect(options).to_have_count(1)
    box.press("Escape")
    expect(suggestions).to_be_hidden()
    expect(box).to_be_focused()
    # Tab on a whole shortcut takes it with the list closed.
    box.fill("/hello")
    box.press("Escape")
    box.press("Tab")
    expect(box).to_have_value("Hi! How can I help you today?")
    # Those starting with the word come first, then those containing it; a click takes one.
    box.fill("/status")
    expect(options).to_have_count(2)
    expect(options.first).to_contain_text("/status-page")
    options.nth(1).click()
    expect(box).to_have_value("Let me look up where your refund is.")
    expect(box).to_be_focused()
    box.fill("")
    box.press_sequentially("/nothing-like-this")
    expect(suggestions).to_be_hidden()
    box.press("Enter")
    visitor.wait_for_message("/nothing-like-this")
    assert not errors, errors


def test_a_follow_up_is_told_to_the_visitor_listed_flagged_when_overdue_and_done(
        live_server: LiveServer, admin_token: str, context: BrowserContext,
        other_context: BrowserContext, visitors: Callable[..., VisitorClient]) -> None:  # noqa: F811
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, live_server.url)
    go_available(page)
    grace = visitors(name="Grace Hopper")
    grace_id = grace.say("Was I charged twice for order 1042?")["conversation_id"]
    linus = visitors(name="Linus")
    linus_id = linus.say("When does my subscription renew?")["conversation_id"]

    # A time in the past is refused on the spot, and nothing reaches the visitor.
    open_chat(page, grace_id)
    page.get_by_test_id("set-follow-up").click()
    page.get_by_test_id("follow-up-due").fill(local_time_in(page, -3600))
    page.get_by_test_id("follow-up-note").fill("Ask billing about the double charge")
    page.get_by_test_id("follow-up-save").click()
    expect(page.get_by_test_id("follow-up-error")).to_have_text("Pick a time in the future.")
    screenshot(page, "console-follow-up-sheet")
    page.get_by_test_id("follow-up-form").get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("follow-up-form")).to_be_hidden()

    # Grace: due in a few seconds. She is told when to expect the answer.
    set_follow_up(page, local_time_in(page, 6), "Ask billing about the double charge")
    told = grace.wait_for(lambda f: f["type"] == "message" and f["author"]["role"] == "system"
                          and "will get back to you by" in f["text"])
    assert told["text"].startswith("Ada Lovelace will get back to you by "), told
    expect(page.get_by_test_id("toast")).to_contain_text("Follow-up set")
    expect(transcript_message(page, "will get back to you by")).to_be_visible()
    expect(page.get_by_test_id("conversation-follow-up")).to_contain_text("Follow-up due")
    # Linus: due tomorrow.
    open_chat(page, linus_id)
    set_follow_up(page, local_time_in(page, 86400), "Check the renewal date with finance")
    linus.wait_for(lambda f: f["type"] == "message" and "will get back to you by" in f["text"])

    # Both are listed, soonest first; Grace's turns overdue (red) when its time passes.
    page.get_by_test_id("tab-followups").click()
    items = page.get_by_test_id("followups-list").get_by_test_id("follow-up")
    expect(items).to_have_count(2)
    grace_item = follow_up_item(page, "Ask billing about the double charge")
    linus_item = follow_up_item(page, "Check the renewal date with finance")
    expect(items.first).to_contain_text("Grace Hopper")
    expect(linus_item).to_have_attribute("data-overdue", "false")
    expect(linus_item.locator(".fu-due")).to_have_text(re.compile(r"^Due in (23h|1d)"))
    expect(grace_item).to_have_attribute("data-overdue", "true", timeout=12_000)
    expect(grace_item.locator(".fu-due")).to_have_text(re.compile(r"^Overdue"))
    assert grace_item.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(254, 242, 242)"
    expect(page.get_by_test_id("tab-followups").locator(".tab-count")).to_have_text("1")
    expect(page.get_by_test_id("tab-followups").locator(".tab-count")).to_have_class(
        re.compile(r"\balarm\b"))

    # Still overdue after a reload (the server says so too), until done.
    page.reload()
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_test_id("tab-followups").click()
    expect(grace_item).to_have_attribute("data-overdue", "true")
    expect(linus_item).to_have_attribute("data-overdue", "false")
    grace_item.locator(".fu-main").click()  # it opens the chat it is about
    expect(page.locator(".conv-name")).to_have_text("Grace Hopper")
    expect(grace_item).to_have_class(re.compile(r"\bselected\b"))
    expect(page.get_by_test_id("conversation-follow-up")).to_contain_text("Follow-up overdue")
    screenshot(page, "console-followups")

    grace_item.get_by_test_id("follow-up-done").click()
    expect(grace_item).to_have_count(0)
    expect(page.get_by_test_id("conversation-follow-up")).to_have_count(0)
    expect(items).to_have_count(1)
    expect(page.get_by_test_id("tab-followups").locator(".tab-count")).to_have_text("1")
    expect(page.get_by_test_id("tab-followups").locator(".tab-count")).not_to_have_class(
        re.compile(r"\balarm\b"))
    page.reload()
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_test_id("tab-followups").click()
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Linus")

    # An admin has none of their own; everyone's shows Ada's, with her name.
    rita = other_context.new_page()
    rita_errors = watch_errors(rita)
    sign_in(rita, live_server.url, ADMIN, PASSWORD)
    rita.get_by_test_id("tab-followups").click()
    expect(rita.locator('[data-empty="followups"]')).to_contain_text("Nothing promised")
    rita.get_by_test_id("followups-everyone").check()
    expect(follow_up_item(rita, "Check the renewal date with finance")).to_contain_text(
        "Ada Lovelace")
    expect(rita.get_by_test_id("followups-everyone")).to_be_checked()
    assert not errors and not rita_errors, errors + rita_errors
