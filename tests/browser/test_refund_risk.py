"""The customer panel highlights the refund figures the server flags, under the threshold in
force on that server (here one refund in 90 days, not the default two)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.test_console import (
    EMAIL,
    PASSWORD,
    VisitorClient,
    go_available,
    open_chat,
    sign_in,
)
from tests.browser.test_refunds import ADMIN, add_order, order_card, panel, post, verify
from tests.conftest import LiveServer, add_agent, integration_token, start_server

HIGH = re.compile(r"\bcp-high\b")


@pytest.fixture
def strict_server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A shop where a second refund in 90 days already waits for a supervisor."""
    server = start_server(db_url, tmp_path / "server.log",
                          env={"CHATSERVER_RISK_MAX_REFUNDS": "1"})
    add_agent(db_url, EMAIL, "Ada Lovelace", capacity=3, password=PASSWORD)
    yield server
    server.stop()


def figure_row(page: Page, label: str) -> Locator:
    return panel(page).get_by_test_id("risk-figures").locator(".cp-figure").filter(
        has_text=label)


def test_the_risk_highlight_follows_the_servers_threshold(
        strict_server: LiveServer, context: BrowserContext) -> None:
    order = add_order(strict_server, integration_token(strict_server.db_url), "7001",
                      "barbara@example.com", "Course Pro", 10000, name="Barbara")
    admin = add_agent(strict_server.db_url, ADMIN, "Alan Admin", role="admin")
    given = post(strict_server, admin, f"/api/orders/{order['id']}/refunds",
                 {"amount_cents": 1000, "reason": "late delivery"},
                 **{"Idempotency-Key": str(uuid.uuid4())})
    assert given.status_code == 201, given.text

    agent = context.new_page()
    sign_in(agent, strict_server.url)
    go_available(agent)
    visitor = VisitorClient(strict_server.ws, name="Barbara", email="barbara@example.com")
    try:
        conversation_id = visitor.say("Another refund please")["conversation_id"]
        open_chat(agent, conversation_id)
        verify(agent, "7001")
        visitor.wait_for_message("Purchase verified: order 7001, Course Pro")
    finally:
        visitor.close()

    # One refund is at this server's threshold (the default of two would not flag it).
    refunds = figure_row(agent, "Refunds, 90 days / lifetime")
    expect(refunds.locator("dd")).to_have_text("1 / 1")
    expect(refunds).to_have_class(HIGH)
    rate = figure_row(agent, "Refund rate, 90 days / lifetime")
    expect(rate.locator("dd")).to_have_text("10% / 10%")
    expect(rate).not_to_have_class(HIGH)
    expect(order_card(agent, "7001").get_by_test_id("refund-risk")).to_have_class(HIGH)
