"""A shop's signed-in customer in the widget: the shop signs who they are, the widget passes
it on, and the agent sees the customer, verified; a forged signature leaves the chat
anonymous; signing out forgets the visitor on that browser. The host site is another origin
than the chat server; the agent is a socket client (helpers in test_widget.py)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from chatserver.domain.identity import sign_identity
from tests.backends import query
from tests.browser import test_widget
from tests.browser.test_widget import AgentClient, HostSite, bubble, open_widget, part, say
from tests.conftest import LiveServer, add_agent

host = test_widget.host
serve = test_widget.serve
agents = test_widget.agents

SECRET = secrets.token_hex(16)  # the shop's IDENTITY_SECRET, made up per run


def signed(user_id: str, email: str, name: str, secret: str = SECRET) -> dict[str, Any]:
    """What the shop's back end puts in the page for a signed-in customer."""
    ts = int(time.time())
    return {"user_id": user_id, "email": email, "name": name, "ts": ts,
            "hash": sign_identity(secret, user_id, email, ts)}


def account_page(host: HostSite, server: LiveServer, identity: dict[str, Any] | None) -> str:
    """The shop's page, with the customer's identity in `window.chatserverSettings`."""
    settings = f"<script>window.chatserverSettings = {json.dumps({'identity': identity})};</script>"
    return host.page(server, "/account", before=settings if identity else "")


def hellos(page: Page) -> list[dict[str, Any]]:
    """Every `hello` the page's widget sends, from now on."""
    sent: list[dict[str, Any]] = []

    def watch(ws: Any) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload))
              if '"hello"' in payload else None)
    page.on("websocket", watch)
    return sent


def chat_server(serve: Callable[..., LiveServer],
                agents: Callable[..., AgentClient]) -> tuple[LiveServer, AgentClient]:
    server = serve(env={"CHATSERVER_IDENTITY_SECRET": SECRET})
    return server, agents(server, add_agent(server.db_url, "ann@example.com", "Ann"))


def test_a_signed_in_customer_is_verified_and_finds_the_chat_on_another_device(
        serve: Callable[..., LiveServer], host: HostSite, context: BrowserContext,
        other_context: BrowserContext, agents: Callable[..., AgentClient]) -> None:
    server, agent = chat_server(serve, agents)
    ada = signed("u42", "ada@example.com", "Ada")
    laptop = context.new_page()
    laptop.goto(account_page(host, server, ada))
    open_widget(laptop)
    say(laptop, "Where is my certificate?")

    assigned = agent.wait_for(lambda f: f["type"] == "assigned")["conversation"]
    assert assigned["visitor"]["verified"] is True
    assert assigned["visitor"]["email"] == "ada@example.com"
    assert assigned["visitor"]["name"] == "Ada"
    assert assigned["customer_id"] is not None
    agent.say(assigned["id"], "It is in your inbox, Ada.")
    expect(bubble(laptop, "in your inbox", "agent")).to_be_visible()

    # Her phone: another browser, nothing stored, the same signed-in customer.
    phone = other_context.new_page()
    phone.goto(account_page(host, server, signed("u42", "ada@example.com", "Ada")))
    open_widget(phone)
    expect(bubble(phone, "Where is my certificate?", "visitor")).to_be_visible()
    expect(bubble(phone, "in your inbox", "agent")).to_be_visible()
    # one customer, one verified visitor: the phone's hello was moved over to it
    assert query(server.db_url, "SELECT email FROM visitors WHERE verified = 1") == [
        ("ada@example.com",)]


def test_a_forged_identity_is_refused_and_the_chat_goes_on_anonymously(
        serve: Callable[..., LiveServer], host: HostSite, context: BrowserContext,
        agents: Callable[..., AgentClient]) -> None:
    server, agent = chat_server(serve, agents)
    forged = signed("u42", "ada@example.com", "Ada", secret="not the shop's secret")
    page = context.new_page()
    sent = hellos(page)
    page.goto(account_page(host, server, forged))
    open_widget(page)
    say(page, "Refund my order, I am Ada")
    assigned = agent.wait_for(lambda f: f["type"] == "assigned")["conversation"]
    assert assigned["visitor"]["verified"] is False and assigned["customer_id"] is None

    # Reconnected, the widget does not offer the refused signature again.
    context.set_offline(True)
    expect(part(page, ".cs-conn")).to_contain_text("You're offline.")
    context.set_offline(False)
    expect(part(page, ".cs-conn")).to_be_hidden()
    say(page, "Still there?")
    assert len(sent) >= 2 and "identity" in sent[0]
    assert all("identity" not in hello for hello in sent[1:])
    assert query(server.db_url, "SELECT verified, customer_id FROM visitors") == [(0, None)]


def test_identify_links_a_chat_in_progress_and_signing_out_forgets_it(
        serve: Callable[..., LiveServer], host: HostSite, context: BrowserContext,
        agents: Callable[..., AgentClient]) -> None:
    server, agent = chat_server(serve, agents)
    page = context.new_page()
    page.goto(account_page(host, server, None))
    open_widget(page)
    say(page, "I will sign in in a moment")
    agent.assigned()

    # The customer signs in on the shop, which tells the widget: the same chat, now verified.
    page.evaluate("identity => window.Chatserver.identify(identity)",
                  signed("u7", "bo@example.com", "Bo"))
    say(page, "Signed in now")
    assert query(server.db_url, "SELECT verified, email FROM visitors") == [
        (1, "bo@example.com")]
    expect(bubble(page, "I will sign in in a moment", "visitor")).to_be_visible()

    # Signing out on a shared computer: the widget forgets the visitor and the chat; the
    # next person is a new visitor.
    token = stored_token(page)
    page.evaluate("window.Chatserver.identify(null)")
    expect(bubble(page, "Signed in now")).to_have_count(0)
    page.reload()
    open_widget(page)
    expect(bubble(page, "Signed in now")).to_have_count(0)
    expect(bubble(page, "I will sign in in a moment")).to_have_count(0)
    assert stored_token(page) != token


def stored_token(page: Page) -> str | None:
    """The visitor token the widget keeps in this browser, if any."""
    found: str | None = page.evaluate(
        "(Object.entries(localStorage).find(([k]) => k.endsWith(':token')) || [])[1] || null")
    return found
