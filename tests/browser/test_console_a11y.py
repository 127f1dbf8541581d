"""Every console page passes axe-core's WCAG 2.1 A and AA rules, as people use it: signing
in, the chat page with a conversation open (messages, a note, the visitor's details), the
reports with figures in them, and the admin page."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import axe_faults
from tests.browser.test_console import (
    EMAIL,
    PASSWORD,
    VisitorClient,
    go_available,
    open_chat,
    reply,
    sign_in,
    transcript_message,
    visitors,  # noqa: F401  (a fixture used by these tests)
)
from tests.browser.test_console_reports import (
    ADMIN,
    SUPERVISOR,
    open_reports,
    seeded,  # noqa: F401  (a fixture used by these tests)
    team,  # noqa: F401
)
from tests.conftest import LiveServer


def assert_accessible(page: Page) -> None:
    faults = axe_faults(page)
    assert not faults, "\n".join(faults)


def test_the_sign_in_page_passes_axe(live_server: LiveServer, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(live_server.url + "/console/login")
    assert_accessible(page)
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page)


def test_the_chat_page_with_a_conversation_open_passes_axe(
        live_server: LiveServer, seeded: dict[str, int], context: BrowserContext,  # noqa: F811
        visitors: Callable[..., VisitorClient]) -> None:  # noqa: F811
    page = context.new_page()
    sign_in(page, live_server.url, SUPERVISOR, PASSWORD)
    go_available(page)
    visitor = visitors(name="Grace Hopper", email="grace@example.com")
    conversation_id = visitor.say("Where is my parcel?")["conversation_id"]
    open_chat(page, conversation_id)
    reply(page, "It left the warehouse this morning.")
    reply(page, "Tracking number sent by email.", note=True)
    expect(transcript_message(page, "Tracking number")).to_have_attribute("data-state", "sent")
    expect(page.get_by_test_id("visitor-details")).to_be_visible()
    assert_accessible(page)
    # ... with the Close confirmation open, then the shortcuts help.
    page.get_by_test_id("close-conversation").click()
    expect(page.get_by_test_id("confirm-close")).to_be_visible()
    assert_accessible(page)
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    expect(page.get_by_test_id("shortcuts-help")).to_be_visible()
    assert_accessible(page)
    page.keyboard.press("Escape")
    # The other lists: everyone's open chats, and search results.
    page.get_by_test_id("tab-open").click()
    expect(page.get_by_test_id("open-list").get_by_test_id("conversation-item")).not_to_have_count(0)
    assert_accessible(page)
    page.get_by_test_id("search").fill("parcel")
    page.get_by_test_id("search").press("Enter")
    expect(page.get_by_test_id("search-results").locator("mark")).to_have_text("parcel")
    assert_accessible(page)


def test_the_reports_page_passes_axe(live_server: LiveServer, seeded: dict[str, int],  # noqa: F811
                                     context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, live_server.url, SUPERVISOR, PASSWORD)
    open_reports(page, live_server.url)
    expect(page.get_by_test_id("comment")).to_have_count(1)
    assert_accessible(page)


def test_the_admin_page_passes_axe(live_server: LiveServer, team: dict[str, str],  # noqa: F811
                                   context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, live_server.url, ADMIN, PASSWORD)
    page.goto(live_server.url + "/console/admin")
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/console/admin$"))
    assert_accessible(page)
