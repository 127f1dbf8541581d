"""A Stripe order refunded from the console's customer panel in a real browser, against a
real server process whose `stripe` package talks to the tests' fake Stripe: the panel says
what Stripe made of each refund, and its ledger shows each one's status there."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.test_console import (
    EMAIL,
    PASSWORD,
    VisitorClient,
    go_available,
    open_chat,
    sign_in,
    visitors,  # noqa: F401  (a fixture used by these tests)
)
from tests.browser.test_refunds import panel, refund, verify
from tests.conftest import LiveServer, add_agent, start_server
from tests.fakes.stripe_events import body, checkout_session, event, signature
from tests.fakes.stripe_server import CHARGE_REFUNDED, FakeStripe, fake_stripe

WEBHOOK_SECRET = "whsec_browser_test"


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    with fake_stripe() as found:
        yield found


@pytest.fixture
def live_server(db_url: str, tmp_path: Path, stripe: FakeStripe) -> Iterator[LiveServer]:
    """The server, with Stripe's refunds and webhooks on (the fake Stripe its API)."""
    server = start_server(db_url, tmp_path / "server.log", env={
        "CHATSERVER_STRIPE_SECRET_KEY": stripe.api_key,
        "CHATSERVER_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CHATSERVER_STRIPE_API_BASE": stripe.url})
    yield server
    server.stop()


def test_the_panel_shows_what_stripe_made_of_each_refund(
        live_server: LiveServer, stripe: FakeStripe, context: BrowserContext,
        visitors: Callable[..., VisitorClient]) -> None:  # noqa: F811
    add_agent(live_server.db_url, EMAIL, "Ada Lovelace", capacity=3, password=PASSWORD)
    raw = body(event("checkout.session.completed",
                     checkout_session(email="ken@example.com", client_reference_id="5001")))
    paid = httpx.post(live_server.url + "/webhooks/stripe", content=raw, timeout=10, headers={
        "Stripe-Signature": signature(WEBHOOK_SECRET, raw, int(time.time()))})
    assert paid.status_code == 201, paid.text
    agent = context.new_page()
    sign_in(agent, live_server.url)
    go_available(agent)
    visitor = visitors(name="Ken", email="ken@example.com")
    conversation_id = visitor.say("Please refund my order")["conversation_id"]
    open_chat(agent, conversation_id)
    verify(agent, "5001")
    visitor.wait_for_message("Purchase verified: order 5001, Stripe payment")

    stripe.refuse = CHARGE_REFUNDED
    card = refund(agent, "5001", "10.00", "Arrived broken")
    expect(card.get_by_test_id("action-result")).to_contain_text(
        "Stripe did not refund 10.00 USD.")
    expect(card.get_by_test_id("refundable")).to_have_text("49.00 USD")

    stripe.refuse, stripe.status = None, "pending"
    refund(agent, "5001", "10.00", "Arrived broken")
    expect(card.get_by_test_id("action-result")).to_contain_text(
        "Refunded 10.00 USD through Stripe.")
    expect(card.get_by_test_id("refundable")).to_have_text("39.00 USD")
    statuses = panel(agent).get_by_test_id("provider-status")
    expect(statuses).to_have_count(2)
    expect(statuses.and_(agent.locator("[data-status=failed]"))).to_have_text("Stripe: failed")
    expect(statuses.and_(agent.locator("[data-status=pending]"))).to_have_text(
        "Stripe: pending · re_1")
    visitor.wait_for_message("A refund of 10.00 USD for order 5001 has been issued.")
    told = [f["text"] for f in visitor.frames
            if f["type"] == "message" and f["author"]["role"] == "system"
            and "refund" in f["text"].lower()]
    assert told == ["A refund of 10.00 USD for order 5001 has been issued."]
    assert len(stripe.refunds) == 1
