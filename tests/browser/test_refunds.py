"""The console's customer panel in a real browser against a real server: verify a purchase in
a live chat, refund it, send a refund to a supervisor, and refuse money before verification.

The visitor is the real widget on the demo shop, or a socket client (tests/browser/test_console.py);
orders come in over the REST API with an agent's token, as a shop's back end would send them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.backends import query
from tests.browser.conftest import axe_faults, screenshot
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
from tests.conftest import LiveServer, add_agent, integration_token

SUPERVISOR = "sam@example.com"
ADMIN = "alan@example.com"


@pytest.fixture
def ada_token(live_server: LiveServer) -> str:
    """Ada, an agent who signs in to the console."""
    return add_agent(live_server.db_url, EMAIL, "Ada Lovelace", capacity=3, password=PASSWORD)


@pytest.fixture
def shop_token(live_server: LiveServer) -> str:
    """The shop's systems: they write the orders."""
    return integration_token(live_server.db_url)


def post(live_server: LiveServer, token: str, path: str, body: dict[str, Any],
         **headers: str) -> httpx.Response:
    return httpx.post(live_server.url + path, json=body, timeout=10,
                      headers={"Authorization": f"Bearer {token}", **headers})


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_order(live_server: LiveServer, token: str, external_id: str, email: str, product: str,
              amount_cents: int, name: str | None = None, age_days: int = 20) -> dict[str, Any]:
    created = post(live_server, token, "/api/orders", {
        "external_id": external_id, "email": email, "name": name, "product": product,
        "amount_cents": amount_cents, "currency": "USD", "purchased_at": days_ago(age_days)})
    assert created.status_code == 201, created.text
    order: dict[str, Any] = created.json()["order"]
    return order


def widget_message(page: Page, text: str, role: str) -> Locator:
    """A message in the visitor's widget (as in tests/browser/test_end_to_end.py)."""
    return page.locator(f"chatserver-widget .cs-msg[data-role='{role}']").filter(has_text=text)


def panel(page: Page) -> Locator:
    return page.get_by_test_id("customer-panel")


def order_card(page: Page, external_id: str) -> Locator:
    return panel(page).locator(f'[data-testid="order"][data-external-id="{external_id}"]')


def figure(page: Page, label: str) -> Locator:
    """One of the refund figures shown beside the refund forms."""
    return panel(page).get_by_test_id("risk-figures").locator(".cp-figure").filter(
        has_text=label).locator("dd")


def verify(page: Page, order: str, email: str | None = None) -> None:
    box = panel(page)
    box.get_by_test_id("verify-order").fill(order)
    if email is not None:
        box.get_by_test_id("verify-email").fill(email)
    box.get_by_test_id("verify-submit").click()
    # as an agent would, act on what the answer shows, not before it is there
    expect(box.get_by_test_id("chat-verification").filter(has_text="✓").or_(
        box.get_by_test_id("action-result")).first).to_be_visible()


def refund(page: Page, external_id: str, amount: str, reason: str) -> Locator:
    card = order_card(page, external_id)
    card.get_by_test_id("refund-amount").fill(amount)
    card.get_by_test_id("refund-reason").fill(reason)
    card.get_by_test_id("refund-submit").click()
    return card


def test_agent_verifies_and_refunds_part_of_an_order_during_a_live_chat(
        live_server: LiveServer, ada_token: str, shop_token: str, context: BrowserContext,
        other_context: BrowserContext) -> None:
    add_order(live_server, shop_token, "1042", "grace@example.com", "Course Pro", 14900,
              name="Grace Hopper")
    add_order(live_server, shop_token, "1043", "grace@example.com", "Starter Pack", 3900,
              age_days=3)
    agent = context.new_page()
    sign_in(agent, live_server.url)
    go_available(agent)

    # The visitor asks for a refund through the widget on the shop page.
    visitor = other_context.new_page()
    visitor.goto(live_server.url + "/demo")
    visitor.locator("chatserver-widget .cs-launcher").click()
    box = visitor.locator("chatserver-widget .cs-input")
    box.fill("Hi, I bought Course Pro (order 1042) but I can't finish it. Refund half?")
    box.press("Enter")
    item = agent.get_by_test_id("mine-list").get_by_test_id("conversation-item")
    expect(item).to_have_count(1)
    item.click()
    conversation_id = int(item.get_attribute("data-conversation-id") or 0)

    # Not linked to anyone yet: the panel offers only the verify form (the widget has no email).
    expect(panel(agent)).to_be_visible()
    expect(panel(agent).get_by_test_id("verify-email")).to_have_value("")
    expect(panel(agent).get_by_test_id("refund-submit")).to_have_count(0)
    expect(panel(agent).get_by_test_id("order")).to_have_count(0)

    # A wrong email does not match, and says so.
    verify(agent, "1042", "someone.else@example.com")
    expect(panel(agent).get_by_test_id("action-result")).to_have_text(
        "No order with that number was bought with that email.")
    expect(panel(agent).get_by_test_id("order")).to_have_count(0)

    # The right one: both sides see the system message, the panel shows Grace and her orders.
    verify(agent, "1042", "grace@example.com")
    expect(widget_message(visitor, "Purchase verified: order 1042, Course Pro", "system")
           ).to_be_visible()
    expect(transcript_message(agent, "Purchase verified: order 1042, Course Pro")
           ).to_have_attribute("data-role", "system")
    course = order_card(agent, "1042")
    expect(course).to_contain_text("Course Pro")
    expect(course).to_contain_text("149.00 USD")
    expect(course.get_by_test_id("verified-here")).to_be_visible()
    expect(course.get_by_test_id("refundable")).to_have_text("149.00 USD")
    expect(panel(agent)).to_contain_text("Grace Hopper")
    expect(panel(agent)).to_contain_text("grace@example.com")
    expect(agent.locator(".conv-details")).to_contain_text("Customer #")
    # Only the verified order may be refunded by an agent; the other one says why not.
    starter = order_card(agent, "1043")
    expect(starter.get_by_test_id("refund-submit")).to_have_count(0)
    expect(starter.get_by_test_id("refund-locked")).to_contain_text("verified in this chat")
    expect(figure(agent, "Refunds, 90 days / lifetime")).to_have_text("0 / 0")
    expect(figure(agent, "Refund rate, 90 days / lifetime")).to_have_text("0% / 0%")
    expect(figure(agent, "Refunds without prior contact")).to_have_text("0")
    expect(course.get_by_test_id("refund-risk")).to_have_text(
        "0 refunds in 90 days · 0% refunded lifetime")

    # A bad amount is caught before anything is sent; "12.5" is exactly 1250 cents.
    refund(agent, "1042", "12.555", "Could not finish the course")
    expect(course.get_by_test_id("action-result")).to_have_text(
        "Enter the amount in USD, like 12.50.")
    refund(agent, "1042", "12.5", "Could not finish the course")
    result = course.get_by_test_id("action-result")
    expect(result).to_contain_text("Refunded 12.50 USD.")
    expect(result).to_contain_text(
        "Next step: Refund 12.50 USD on order 1042 in your payment processor.")
    expect(course.get_by_test_id("refundable")).to_have_text("136.50 USD")
    expect(course).to_contain_text("Refunded 12.50 USD")
    expect(widget_message(
        visitor, "A refund of 12.50 USD for order 1042 has been issued.", "system")).to_be_visible()
    expect(transcript_message(agent, "A refund of 12.50 USD for order 1042 has been issued.")
           ).to_be_visible()

    # The ledger shows the entry with who, why and what to do; the figures count it.
    entry = panel(agent).get_by_test_id("ledger-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("12.50 USD")
    expect(entry).to_contain_text("Could not finish the course")
    expect(entry).to_contain_text("by Ada Lovelace")
    expect(entry).to_contain_text("To do: Refund 12.50 USD on order 1042")
    expect(figure(agent, "Refunds, 90 days / lifetime")).to_have_text("1 / 1")
    expect(figure(agent, "Refund rate, 90 days / lifetime")).to_have_text("6.7% / 6.7%")
    expect(course.get_by_test_id("refund-risk")).to_have_text(
        "1 refund in 90 days · 6.7% refunded lifetime")
    assert query(live_server.db_url, "SELECT amount_cents, conversation_id FROM ledger") == [
        (1250, conversation_id)]
    expect(panel(agent).get_by_test_id("panel-error")).to_be_hidden()
    assert "undefined" not in panel(agent).inner_text()
    assert "null" not in panel(agent).inner_text()
    panel(agent).locator(".cp-scroll").evaluate("scroller => { scroller.scrollTop = 0; }")
    screenshot(agent, "console-customer-panel")
    course.get_by_test_id("action-result").scroll_into_view_if_needed()
    screenshot(agent, "console-customer-refund")


def test_refund_over_the_agent_limit_waits_for_a_supervisor(
        live_server: LiveServer, ada_token: str, shop_token: str, context: BrowserContext,
        other_context: BrowserContext, visitors: Callable[..., VisitorClient]) -> None:  # noqa: F811
    add_agent(live_server.db_url, SUPERVISOR, "Sam Supervisor", role="supervisor",
              password=PASSWORD)
    add_order(live_server, shop_token, "2001", "linus@example.com", "Course Pro", 14900,
              name="Linus")
    agent = context.new_page()
    sign_in(agent, live_server.url)
    go_available(agent)
    supervisor = other_context.new_page()
    sign_in(supervisor, live_server.url, email=SUPERVISOR)  # away: chats go to Ada
    waiting = panel(supervisor)
    expect(waiting).to_contain_text("Nothing is waiting for a decision.")

    visitor = visitors(name="Linus", email="linus@example.com")
    conversation_id = visitor.say("Please refund 60 dollars, the course was too basic")[
        "conversation_id"]
    open_chat(agent, conversation_id)
    # The visitor's typed email is offered (it is still checked against the order).
    expect(panel(agent).get_by_test_id("verify-email")).to_have_value("linus@example.com")
    verify(agent, "2001")
    visitor.wait_for_message("Purchase verified: order 2001, Course Pro")
    course = order_card(agent, "2001")
    expect(course.get_by_test_id("refundable")).to_have_text("149.00 USD")

    # 60.00 is over the agent's 50.00: it waits for a supervisor and reserves its amount.
    refund(agent, "2001", "60", "Course too basic")
    expect(course.get_by_test_id("action-result")).to_have_text(
        "Sent for approval: over the agent limit of 50.00 per conversation.")
    expect(course.get_by_test_id("refundable")).to_have_text("89.00 USD")
    expect(course).to_contain_text("60.00 USD waiting for approval")
    expect(panel(agent).get_by_test_id("customer-approval")).to_contain_text("60.00 USD")
    expect(panel(agent).get_by_test_id("ledger-entry")).to_have_count(0)
    assert not [f for f in visitor.frames_within(0.5) if f["type"] == "message"]

    # Sam sees it appear in "Approvals waiting" (an `approval` frame) and approves it.
    approval = waiting.get_by_test_id("approval")
    expect(approval).to_have_count(1)
    expect(approval).to_contain_text("60.00 USD")
    expect(approval).to_contain_text("order 2001")
    expect(approval).to_contain_text("by Ada Lovelace")
    expect(approval).to_contain_text("Over the agent limit of 50.00 per conversation.")
    expect(approval).to_contain_text("Course too basic")
    expect(supervisor.get_by_test_id("approvals-count")).to_have_text("1")
    screenshot(supervisor, "console-approvals-waiting")
    approval.get_by_test_id("approve").click()
    decision = waiting.locator('[data-cp="decision"]')
    expect(decision).to_contain_text("Approved: Refund of 60.00 USD on order 2001 is done.")
    expect(decision).to_contain_text(
        "Next step: Refund 60.00 USD on order 2001 in your payment processor.")
    expect(approval).to_have_count(0)
    expect(supervisor.get_by_test_id("approvals-count")).to_be_hidden()

    # The visitor is told; Ada's panel shows the refund done and nothing waiting.
    visitor.wait_for_message("A refund of 60.00 USD for order 2001 has been issued.")
    expect(transcript_message(agent, "A refund of 60.00 USD for order 2001 has been issued.")
           ).to_be_visible()
    expect(course.get_by_test_id("refundable")).to_have_text("89.00 USD")
    expect(course).not_to_contain_text("waiting for approval")
    expect(panel(agent).get_by_test_id("customer-approval")).to_have_count(0)
    entry = panel(agent).get_by_test_id("ledger-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("approved by a supervisor")
    assert query(live_server.db_url, "SELECT amount_cents, approval_id IS NOT NULL FROM ledger"
                 ) == [(6000, 1)]


def test_a_supervisor_may_only_withdraw_their_own_request_which_an_admin_may_approve(
        live_server: LiveServer, shop_token: str, context: BrowserContext,
        other_context: BrowserContext, visitors: Callable[..., VisitorClient]) -> None:  # noqa: F811
    add_agent(live_server.db_url, SUPERVISOR, "Sam Supervisor", role="supervisor",
              password=PASSWORD)
    add_agent(live_server.db_url, ADMIN, "Alan Admin", role="admin", password=PASSWORD)
    add_order(live_server, shop_token, "5001", "edsger@example.com", "Team licence", 90000,
              name="Edsger")
    supervisor = context.new_page()
    sign_in(supervisor, live_server.url, email=SUPERVISOR)
    go_available(supervisor)
    admin = other_context.new_page()
    sign_in(admin, live_server.url, email=ADMIN)  # away: the chat goes to Sam
    visitor = visitors(name="Edsger", email="edsger@example.com")
    conversation_id = visitor.say("Please refund 600 dollars of the licence")["conversation_id"]
    open_chat(supervisor, conversation_id)
    verify(supervisor, "5001")
    visitor.wait_for_message("Purchase verified: order 5001, Team licence")

    # 600.00 is over Sam's own limit of 500.00: it waits, and not for Sam to approve it.
    card = refund(supervisor, "5001", "600", "Licence never used")
    expect(card.get_by_test_id("action-result")).to_have_text(
        "Sent for approval: over the supervisor limit of 500.00 per conversation.")
    own = panel(supervisor).get_by_test_id("approval")
    expect(own).to_contain_text("by Sam Supervisor")
    expect(own.get_by_test_id("own-request")).to_have_text(
        "Your own request: another supervisor or an admin decides it.")
    expect(own.get_by_role("button")).to_have_count(1)
    withdraw = own.get_by_role("button", name="Withdraw: Refund of 600.00 USD on order 5001")
    expect(withdraw).to_have_text("Withdraw")
    assert axe_faults(supervisor, '[data-cp="approvals"]') == []

    # The admin, who did not ask, is offered both.
    theirs = panel(admin).get_by_test_id("approval")
    expect(theirs).to_contain_text("by Sam Supervisor")
    expect(theirs.get_by_role("button")).to_have_text(["Approve", "Reject"])
    expect(theirs.get_by_test_id("own-request")).to_have_count(0)

    # Sam withdraws it: nothing is refunded and the amount is free again.
    withdraw.click()
    expect(panel(supervisor).locator('[data-cp="decision"]')).to_have_text(
        "Withdrawn: Refund of 600.00 USD on order 5001.")
    expect(own).to_have_count(0)
    expect(theirs).to_have_count(0)
    expect(order_card(supervisor, "5001").get_by_test_id("refundable")).to_have_text(
        "900.00 USD")
    assert query(live_server.db_url, "SELECT status FROM approvals") == [("rejected",)]
    assert query(live_server.db_url, "SELECT COUNT(*) FROM ledger") == [(0,)]


def test_no_refund_before_the_purchase_is_verified(
        live_server: LiveServer, ada_token: str, shop_token: str, context: BrowserContext,
        visitors: Callable[..., VisitorClient]) -> None:  # noqa: F811
    order = add_order(live_server, shop_token, "3001", "mallory@example.com", "Course Pro", 14900,
                      name="Mallory")
    agent = context.new_page()
    sign_in(agent, live_server.url)
    go_available(agent)
    visitor = visitors(name="Mallory", email="mallory@example.com")  # typed: not verified
    conversation_id = visitor.say("Refund my order 3001 now")["conversation_id"]

    # The typed email links the chat to the customer (that verifies nothing): her orders show,
    # but no refund or credit form is offered, only why not.
    open_chat(agent, conversation_id)
    expect(agent.locator(".conv-details")).to_contain_text(f"Customer #{order['customer_id']}")
    course = order_card(agent, "3001")
    expect(course.get_by_test_id("refundable")).to_have_text("149.00 USD")
    expect(course.get_by_test_id("refund-submit")).to_have_count(0)
    expect(course.get_by_test_id("refund-locked")).to_have_text(
        "Refunds need this purchase verified in this chat: ask the visitor for the order "
        "number and the email they bought with, and verify it.")
    expect(panel(agent).get_by_test_id("credit-submit")).to_have_count(0)
    expect(panel(agent).get_by_test_id("chat-verification")).to_have_text(
        "Nothing verified in this chat yet")

    # The server refuses it too.
    refused = post(live_server, ada_token, f"/api/orders/{order['id']}/refunds",
                   {"amount_cents": 1000, "reason": "asked", "conversation_id": conversation_id},
                   **{"Idempotency-Key": "refund-before-verify"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "not_verified"
    assert "verify the purchase" in refused.json()["error"]["message"]
    assert query(live_server.db_url, "SELECT COUNT(*) FROM ledger") == [(0,)]

    # Verified: the forms appear; store credit works the same way.
    verify(agent, "3001")
    visitor.wait_for_message("Purchase verified: order 3001, Course Pro")
    expect(course.get_by_test_id("verified-here")).to_be_visible()
    expect(course.get_by_test_id("refund-submit")).to_be_enabled()
    box = panel(agent)
    expect(box.get_by_test_id("credit-currency")).to_have_value("USD")
    box.get_by_test_id("credit-amount").fill("10")
    box.get_by_test_id("credit-reason").fill("Sorry for the wait")
    box.get_by_test_id("credit-submit").click()
    expect(box.get_by_test_id("credit-balance")).to_have_text("10.00 USD")
    expect(box.locator('section[aria-label="Store credit"]').get_by_test_id("action-result")
           ).to_contain_text("Added 10.00 USD of store credit.")
    visitor.wait_for_message("10.00 USD of store credit has been added to your account.")
    expect(box.get_by_test_id("ledger-entry")).to_contain_text(
        "To do: Add 10.00 USD of store credit to the customer's account in your shop.")

    # On a tablet the panel folds away; the top bar's button brings it over the chat.
    agent.set_viewport_size({"width": 1024, "height": 768})
    toggle = agent.get_by_test_id("panel-toggle")
    expect(box).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(box).to_be_visible()
    expect(order_card(agent, "3001").get_by_test_id("refundable")).to_have_text("149.00 USD")
    screenshot(agent, "console-customer-panel-tablet")
    box.get_by_role("button", name="Hide the customer panel").click()
    expect(box).to_be_hidden()
    expect(agent.get_by_test_id("reply")).to_be_visible()


def test_a_refund_retried_after_a_lost_answer_is_done_once(
        live_server: LiveServer, ada_token: str, shop_token: str, context: BrowserContext,
        visitors: Callable[..., VisitorClient]) -> None:  # noqa: F811
    add_order(live_server, shop_token, "4001", "ken@example.com", "Starter Pack", 3900, name="Ken")
    hostile = '<img src=x onerror="window.__pwned=1">Course <b>Max</b>'
    add_order(live_server, shop_token, "4002", "ken@example.com", hostile, 900, age_days=2)
    agent = context.new_page()
    sign_in(agent, live_server.url)
    go_available(agent)
    visitor = visitors(name="Ken", email="ken@example.com")
    conversation_id = visitor.say("The starter pack was a duplicate purchase")["conversation_id"]
    open_chat(agent, conversation_id)
    verify(agent, "4001")
    visitor.wait_for_message("Purchase verified: order 4001, Starter Pack")
    # What customers and shops wrote is shown as text, never run as markup.
    expect(order_card(agent, "4002").locator(".cp-product")).to_have_text(hostile)
    expect(panel(agent).locator("img, b, script")).to_have_count(0)
    assert agent.evaluate("window.__pwned") is None

    # The first answer is lost on the way back (the server did the refund); the agent
    # presses Refund again: the same form, so the same idempotency key: the server replays,
    # posts nothing.
    keys: list[str] = []

    def lose_first_answer(route: Any) -> None:
        keys.append(parse_qs(route.request.post_data or "")["key"][0])
        if len(keys) == 1:
            route.fetch()
            route.abort()
        else:
            route.continue_()

    agent.route(re.compile(r"/orders/\d+/refund$"), lose_first_answer)
    card = refund(agent, "4001", "10.00", "Duplicate purchase")
    expect(card.get_by_test_id("action-result")).to_have_text(
        "The server could not be reached. Press Refund again to retry: it will not be done twice.")
    expect(card.get_by_test_id("refund-amount")).to_have_value("10.00")  # kept for the retry
    card.get_by_test_id("refund-submit").click()
    expect(card.get_by_test_id("action-result")).to_contain_text("Refunded 10.00 USD.")
    expect(card.get_by_test_id("refundable")).to_have_text("29.00 USD")
    expect(card.get_by_test_id("refund-amount")).to_have_value("")

    # New submissions get new keys; more than is left is refused with the server's reason.
    refund(agent, "4001", "30", "Duplicate purchase")
    expect(card.get_by_test_id("action-result")).to_have_text(
        "Only 29.00 USD of this order can be refunded.")
    refund(agent, "4001", "5", "Shipping fee too")
    expect(card.get_by_test_id("action-result")).to_contain_text("Refunded 5.00 USD.")
    expect(card.get_by_test_id("refundable")).to_have_text("24.00 USD")
    assert len(keys) == 4 and keys[0] == keys[1] and len(set(keys)) == 3, keys
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", k)
               for k in keys)
    assert query(live_server.db_url, "SELECT amount_cents FROM ledger ORDER BY id") == [
        (1000,), (500,)]
    expect(panel(agent).get_by_test_id("ledger-entry")).to_have_count(2)
    visitor.wait_for_message("A refund of 5.00 USD for order 4001 has been issued.")
    refunds = [f["text"] for f in visitor.frames
               if f["type"] == "message" and f["text"].startswith("A refund of")]
    assert refunds == ["A refund of 10.00 USD for order 4001 has been issued.",
                       "A refund of 5.00 USD for order 4001 has been issued."]


def test_a_verified_purchase_names_the_visitor_in_the_list_header_search_and_next_chat(
        live_server: LiveServer, ada_token: str, shop_token: str, context: BrowserContext,
        visitors: Callable[..., VisitorClient]) -> None:  # noqa: F811
    add_order(live_server, shop_token, "1042", "grace@example.com", "Course Pro", 14900,
              name="Grace Hopper")
    agent = context.new_page()
    sign_in(agent, live_server.url)
    go_available(agent)
    visitor = visitors()  # anonymous: the console calls her "Visitor …"
    first = visitor.say("Can I have a refund for order 1042?")["conversation_id"]
    open_chat(agent, first)
    header = agent.locator(".conv-name")
    item = agent.get_by_test_id("mine-list").get_by_test_id("conversation-item")
    expect(header).to_have_text(re.compile(r"^Visitor "))
    expect(agent.get_by_test_id("verified-by")).to_have_count(0)

    verify(agent, "1042", "grace@example.com")
    expect(header).to_have_text("Grace Hopper")
    expect(item.locator(".conv-item-name")).to_have_text("Grace Hopper")
    expect(agent.get_by_test_id("verified-by")).to_have_text("Verified by purchase")

    # Her name finds her chat, though nobody wrote it.
    agent.get_by_test_id("search").fill("hopper")
    agent.get_by_test_id("search").press("Enter")
    results = agent.get_by_test_id("search-results").get_by_test_id("conversation-item")
    expect(results).to_have_count(1)
    expect(results.first).to_have_attribute("data-conversation-id", str(first))
    expect(results.first.locator(".conv-item-name")).to_have_text("Grace Hopper")
    agent.get_by_test_id("clear-search").click()

    # She ends the chat and comes back with another question: it is hers from the start.
    visitor.ws.send(json.dumps({"type": "close"}))
    visitor.wait_for(lambda f: f["type"] == "status" and f["status"] == "closed")
    second = visitor.say("One more thing about my course")["conversation_id"]
    open_chat(agent, second)
    expect(header).to_have_text("Grace Hopper")
    expect(agent.get_by_test_id("verified-by")).to_have_text("Verified by purchase")
    expect(agent.get_by_test_id("verified-by")).to_have_attribute(
        "title", re.compile("identity is not verified"))
