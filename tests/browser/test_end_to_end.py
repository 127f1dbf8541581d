"""A visitor on the demo shop (the real widget) and an agent in the console talk both ways.

Two browser contexts, so two separate people: nothing is shared but the server.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_console import (
    EMAIL,
    PASSWORD,
    close_chat,
    go_available,
    reply,
    sign_in,
    transcript_message,
)
from tests.conftest import LiveServer, add_agent


@pytest.fixture
def agent_page(context: BrowserContext, live_server: LiveServer) -> Page:
    add_agent(live_server.db_url, EMAIL, "Ada Lovelace", capacity=3, password=PASSWORD)
    return context.new_page()


def widget_message(page: Page, text: str, role: str) -> object:
    return page.locator(f"chatserver-widget .cs-msg[data-role='{role}']").filter(has_text=text)


def test_visitor_on_the_demo_shop_and_agent_in_the_console_exchange_messages(
        live_server: LiveServer, agent_page: Page, other_context: BrowserContext) -> None:
    agent = agent_page
    sign_in(agent, live_server.url)
    go_available(agent)

    # The visitor opens the chat bubble on the shop page and asks a question.
    visitor = other_context.new_page()
    visitor.goto(live_server.url + "/demo")
    visitor.locator("chatserver-widget .cs-launcher").click()
    expect(visitor.locator("chatserver-widget .cs-panel")).to_be_visible()
    box = visitor.locator("chatserver-widget .cs-input")
    box.fill("Hi! Did my Course Pro order go through?")
    box.press("Enter")
    question = widget_message(visitor, "Did my Course Pro order go through?", "visitor")
    expect(question).to_have_attribute("data-state", "sent")
    expect(question).to_have_attribute("data-seq", "1")

    # It lands in Ada's list (she is available and has room) and opens on her screen.
    item = agent.get_by_test_id("mine-list").get_by_test_id("conversation-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(re.compile(r"Visitor [0-9a-f]{6}"))
    item.click()
    expect(transcript_message(agent, "Did my Course Pro order go through?")).to_have_attribute(
        "data-role", "visitor")
    expect(agent.get_by_test_id("load")).to_have_text("1/3")

    # The visitor sees who joined, and that Ada has read the question.
    expect(visitor.locator("chatserver-widget .cs-agent")).to_have_text("Ada Lovelace")
    expect(visitor.locator("chatserver-widget .cs-status")).to_have_text(
        "Ada Lovelace is here to help")
    expect(question.locator(".cs-seen")).to_have_text("Seen")

    # Ada types: the visitor sees it; she answers, and the answer appears in the widget.
    agent.get_by_test_id("reply").press_sequentially("Yes", delay=20)
    expect(visitor.locator("chatserver-widget .cs-typing")).to_have_text("Ada Lovelace is typing…")
    agent.get_by_test_id("reply").fill("")
    reply(agent, "Yes, it went through: order CP-1001, paid $149.00.")
    expect(transcript_message(agent, "order CP-1001")).to_have_attribute("data-state", "sent")
    answer = widget_message(visitor, "order CP-1001, paid $149.00.", "agent")
    expect(answer).to_be_visible()
    expect(answer).to_contain_text("Ada Lovelace")
    expect(visitor.locator("chatserver-widget .cs-typing")).to_be_hidden()

    # The visitor types back: Ada sees it coming, then the message.
    box.press_sequentially("Great", delay=20)
    expect(agent.get_by_test_id("typing-indicator")).to_contain_text("is typing…")
    box.press_sequentially(", thanks! Can I get the invoice?", delay=5)
    box.press("Enter")
    follow_up = transcript_message(agent, "Great, thanks! Can I get the invoice?")
    expect(follow_up).to_have_attribute("data-role", "visitor")
    expect(agent.get_by_test_id("typing-indicator")).to_be_hidden()

    # A private note stays in the console: the widget never shows it.
    reply(agent, "Invoice is in the billing tool, tab Orders", note=True)
    expect(transcript_message(agent, "Invoice is in the billing tool")).to_have_attribute(
        "data-private", "true")
    reply(agent, "Sure, I've emailed it to you just now.")
    expect(widget_message(visitor, "I've emailed it to you just now.", "agent")).to_be_visible()
    expect(visitor.locator("chatserver-widget .cs-messages")).not_to_contain_text("billing tool")

    # Everyone's messages are in the same order on both sides.
    agent_texts = agent.get_by_test_id("transcript").locator(
        "[data-private='false'] .msg-text").all_inner_texts()
    widget_texts = visitor.locator("chatserver-widget .cs-msg .cs-text").all_inner_texts()
    assert agent_texts == widget_texts, (agent_texts, widget_texts)

    screenshot(agent, "e2e-agent-console")
    screenshot(visitor, "e2e-visitor-widget")

    # Ada closes the chat: it leaves her list, and the visitor is told it has ended.
    close_chat(agent)
    expect(item).to_have_count(0)
    expect(agent.get_by_test_id("load")).to_have_text("0/3")
    expect(visitor.locator("chatserver-widget .cs-status")).to_have_text("This chat has ended")
