"""The console's Admin page in a real browser against a real server: agents, canned responses,
widget settings, allowed origins, API tokens and webhooks, each changed through the page and checked
where it takes effect (signing in, the public widget settings, the API)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Locator, Page, expect
from websockets.sync.client import connect

from tests.browser.conftest import axe_faults, new_context, screenshot
from tests.browser.test_console import XSS, sign_in
from tests.conftest import LiveServer, add_agent, start_server
from tests.web.receiver import receiver

PASSWORD = "correct horse battery staple"
ADMIN, SUPERVISOR, AGENT = "ada@example.com", "sam@example.com", "ann@example.com"


@pytest.fixture
def team(live_server: LiveServer) -> dict[str, str]:
    """Ada the admin, Sam the supervisor and Ann the agent; their API tokens."""
    return {
        "ada": add_agent(live_server.db_url, ADMIN, "Ada Admin", "admin", password=PASSWORD),
        "sam": add_agent(live_server.db_url, SUPERVISOR, "Sam Supervisor", "supervisor",
                         password=PASSWORD),
        "ann": add_agent(live_server.db_url, AGENT, "Ann Agent", capacity=2, password=PASSWORD),
    }


class Api:
    def __init__(self, server: LiveServer, token: str) -> None:
        self.url, self.token = server.url, token

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10,
                         headers={"Authorization": f"Bearer {self.token}"})

    def agents(self) -> dict[str, dict[str, Any]]:
        response = self.get("/api/agents")
        assert response.status_code == 200, response.text
        return {a["email"]: a for a in response.json()["agents"]}


@pytest.fixture
def dialogs() -> list[str]:
    """The confirmations the admin page asked for, in order."""
    return []


@pytest.fixture
def admin_page(live_server: LiveServer, team: dict[str, str], context: BrowserContext,
               dialogs: list[str]) -> Iterator[Page]:
    """Ada on the Admin page; confirmation dialogs are accepted (and kept in `dialogs`)."""
    page = context.new_page()

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()
    page.on("dialog", accept)
    sign_in(page, live_server.url, ADMIN, PASSWORD)
    response = page.goto(live_server.url + "/console/admin")
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()
    yield page


def section(page: Page, name: str) -> Locator:
    return page.locator(f"[data-section='{name}']")


def agent_row(page: Page, email: str) -> Locator:
    return page.get_by_test_id("agent").and_(page.locator(f"[data-email='{email}']"))


def test_an_admin_adds_changes_and_disables_agents(
        live_server: LiveServer, team: dict[str, str], admin_page: Page, dialogs: list[str],
        other_context: BrowserContext) -> None:
    page, api = admin_page, Api(live_server, team["ada"])
    agents = section(page, "agents")
    expect(agents.get_by_test_id("agent")).to_have_count(3)
    expect(agent_row(page, ADMIN)).to_contain_text("you")
    expect(agent_row(page, ADMIN).get_by_test_id("agent-disable")).to_be_disabled()

    # Add Nia, a supervisor; her name is markup, shown as text.
    form = page.get_by_test_id("add-agent")
    form.get_by_test_id("new-agent-name").fill("Nia <b>New</b>")
    form.get_by_test_id("new-agent-email").fill("nia@example.com")
    form.get_by_test_id("new-agent-role").select_option("supervisor")
    form.get_by_test_id("new-agent-capacity").fill("4")
    form.get_by_test_id("new-agent-password").fill("nia's long password")
    form.get_by_test_id("new-agent-submit").click()
    expect(agents.locator("[data-notice]")).to_have_text("Agent added.")
    nia = agent_row(page, "nia@example.com")
    expect(nia.locator(".pg-who-name")).to_have_text("Nia <b>New</b>")
    expect(nia.get_by_test_id("agent-role")).to_have_value("supervisor")
    expect(nia.get_by_test_id("agent-capacity")).to_have_value("4")
    expect(nia.get_by_test_id("agent-status")).to_have_text("Active")
    expect(agents.locator("tbody b")).to_have_count(0)
    expect(form.get_by_test_id("new-agent-name")).to_have_value("")  # ready for the next
    assert api.agents()["nia@example.com"]["role"] == "supervisor"

    # The same email again: the server's reason is shown, nothing is added.
    form.get_by_test_id("new-agent-name").fill("Nia Again")
    form.get_by_test_id("new-agent-email").fill("nia@example.com")
    form.get_by_test_id("new-agent-submit").click()
    expect(form.locator("[data-error]")).to_have_text(
        "An agent with email nia@example.com exists.")
    expect(agents.get_by_test_id("agent")).to_have_count(4)

    # Nia signs in at once, in her own browser.
    nia_page = other_context.new_page()
    sign_in(nia_page, live_server.url, "nia@example.com", "nia's long password")

    # Ann's capacity goes from 2 to 5, and she becomes a supervisor.
    ann = agent_row(page, AGENT)
    ann.get_by_test_id("agent-capacity").fill("5")
    ann.get_by_test_id("agent-role").select_option("supervisor")
    ann.get_by_test_id("agent-save").click()
    expect(agents.locator("[data-notice]")).to_have_text("Saved Ann Agent.")
    assert (api.agents()[AGENT]["capacity"], api.agents()[AGENT]["role"]) == (5, "supervisor")
    page.reload()
    expect(agent_row(page, AGENT).get_by_test_id("agent-capacity")).to_have_value("5")
    expect(agent_row(page, AGENT).get_by_test_id("agent-role")).to_have_value("supervisor")

    # Ada cannot demote herself: the server says so.
    me = agent_row(page, ADMIN)
    me.get_by_test_id("agent-role").select_option("agent")
    me.get_by_test_id("agent-save").click()
    expect(page.get_by_test_id("add-agent").locator("[data-error]")).to_be_hidden()
    expect(section(page, "agents").locator(":scope > [data-error]")).to_have_text(
        "An admin cannot disable or demote themselves.")
    assert api.agents()[ADMIN]["role"] == "admin"

    # Disabling Nia (after a confirmation) signs her out: her open console goes to sign-in.
    nia_row = agent_row(page, "nia@example.com")
    nia_row.get_by_test_id("agent-disable").click()
    assert dialogs[-1].startswith("Disable Nia <b>New</b>?")
    expect(nia_row.get_by_test_id("agent-status")).to_have_text("Disabled")
    expect(nia_row.get_by_test_id("agent-enable")).to_be_visible()
    assert api.agents()["nia@example.com"]["disabled"] is True
    expect(nia_page).to_have_url(re.compile(r"/console/login"), timeout=10_000)
    nia_page.get_by_label("Email").fill("nia@example.com")
    nia_page.get_by_label("Password").fill("nia's long password")
    nia_page.get_by_role("button", name="Sign in").click()
    expect(nia_page.get_by_role("alert")).to_have_text("That email and password do not match.")

    # Enabled again, she can sign in.
    nia_row.get_by_test_id("agent-enable").click()
    expect(nia_row.get_by_test_id("agent-status")).to_have_text("Active")
    sign_in(nia_page, live_server.url, "nia@example.com", "nia's long password")


def test_an_admin_manages_canned_responses_the_widget_and_allowed_origins(
        live_server: LiveServer, team: dict[str, str], admin_page: Page) -> None:
    page, api = admin_page, Api(live_server, team["ada"])
    canned = section(page, "canned")
    expect(canned.get_by_test_id("canned-empty")).to_be_visible()

    # A shortcut with a space: the server tells its rule in place, and keeps what was typed.
    form = page.get_by_test_id("add-canned")
    shortcut = form.get_by_test_id("new-canned-shortcut")
    shortcut.fill("refund policy")
    form.get_by_test_id("new-canned-text").fill("Refunds within 30 days.")
    form.get_by_test_id("new-canned-submit").click()
    expect(form.locator("[data-error]")).to_have_text("A shortcut is letters, digits and dashes.")
    expect(shortcut).to_have_value("refund policy")

    # A canned response whose text is markup: stored as typed, shown as text.
    shortcut.fill("/Refund-Policy")
    form.get_by_test_id("new-canned-text").fill("Refunds within 30 days. " + XSS)
    form.get_by_test_id("new-canned-submit").click()
    item = canned.get_by_test_id("canned")
    expect(item).to_have_count(1)
    expect(item.locator(".pg-shortcut")).to_have_text("/refund-policy")
    expect(item.locator(".pg-canned-text")).to_have_text("Refunds within 30 days. " + XSS)
    expect(canned.locator("script, img, b")).to_have_count(0)
    assert [(c["shortcut"], c["text"]) for c in api.get("/api/canned").json()["canned"]] == [
        ("refund-policy", "Refunds within 30 days. " + XSS)]
    # Twice: refused with the server's reason.
    form.get_by_test_id("new-canned-shortcut").fill("refund-policy")
    form.get_by_test_id("new-canned-text").fill("Again")
    form.get_by_test_id("new-canned-submit").click()
    expect(form.locator("[data-error]")).to_have_text("/refund-policy already exists.")
    # Deleted (after a confirmation).
    item.get_by_test_id("canned-delete").click()
    expect(canned.get_by_test_id("canned")).to_have_count(0)
    expect(canned.locator("[data-notice]")).to_have_text("/refund-policy deleted.")
    expect(canned.get_by_role("heading", name="Canned responses")).to_be_focused()
    assert api.get("/api/canned").json()["canned"] == []

    # The widget: colour, title, greeting, pre-chat form, reply time, business hours.
    widget = page.get_by_test_id("widget-form")
    widget.get_by_test_id("widget-color").fill("#0f766e")
    expect(widget.locator("[data-color-code]")).to_have_text("#0f766e")
    widget.get_by_test_id("widget-title").fill("Talk to Acme")
    widget.get_by_test_id("widget-greeting").fill("Hello from Acme support!")
    widget.get_by_test_id("widget-prechat").select_option("required")
    widget.get_by_test_id("widget-reply-time").fill("We reply within 10 minutes.")
    widget.get_by_test_id("widget-business-hours").fill("Mon-Fri 9:00-17:00 CET")
    widget.get_by_test_id("widget-save").click()
    expect(section(page, "widget").locator("[data-notice]")).to_have_text(
        "Widget settings saved.")
    public = httpx.get(live_server.url + "/api/widget-settings", timeout=10).json()["widget"]
    assert {k: public[k] for k in ("color", "title", "greeting", "prechat", "reply_time",
                                   "business_hours")} == {
        "color": "#0f766e", "title": "Talk to Acme", "greeting": "Hello from Acme support!",
        "prechat": "required", "reply_time": "We reply within 10 minutes.",
        "business_hours": "Mon-Fri 9:00-17:00 CET"}
    # A title the server refuses (empty): its reason shows, nothing changes.
    widget.get_by_test_id("widget-title").evaluate("e => e.removeAttribute('required')")
    widget.get_by_test_id("widget-title").fill("")
    widget.get_by_test_id("widget-save").click()
    expect(widget.locator("[data-error]")).to_contain_text("title")
    assert httpx.get(live_server.url + "/api/widget-settings",
                     timeout=10).json()["widget"]["title"] == "Talk to Acme"
    page.reload()
    expect(page.get_by_test_id("widget-title")).to_have_value("Talk to Acme")
    expect(page.get_by_test_id("widget-prechat")).to_have_value("required")

    # Allowed origins, one a line; the server's own (ALLOWED_ORIGINS=*) are listed beside.
    expect(page.get_by_test_id("env-origins")).to_contain_text("*")
    origins = page.get_by_test_id("origins-form")
    origins.get_by_test_id("origins").fill("shop.example")
    origins.get_by_test_id("origins-save").click()
    expect(origins.locator("[data-error]")).to_contain_text("https://shop.example")
    origins.get_by_test_id("origins").fill("https://shop.example\n\nhttps://Blog.Example/\n")
    origins.get_by_test_id("origins-save").click()
    expect(section(page, "origins").locator("[data-notice]")).to_have_text(
        "Allowed origins saved.")
    expect(origins.locator("[data-error]")).to_be_hidden()
    assert api.get("/api/allowed-origins").json()["origins"] == [
        "https://shop.example", "https://blog.example"]
    page.reload()
    expect(page.get_by_test_id("origins")).to_have_value(
        "https://shop.example\nhttps://blog.example")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Another canned response, for the picture: the page as an admin first sees it.
    form = page.get_by_test_id("add-canned")
    form.get_by_test_id("new-canned-shortcut").fill("shipping")
    form.get_by_test_id("new-canned-text").fill("Orders ship within 2 business days; you get "
                                                "a tracking link by email.")
    form.get_by_test_id("new-canned-submit").click()
    expect(section(page, "canned").get_by_test_id("canned")).to_have_count(1)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "console-admin")


def test_an_admin_creates_a_token_shown_once_that_works_until_revoked(
        live_server: LiveServer, team: dict[str, str], admin_page: Page,
        context: BrowserContext) -> None:
    page = admin_page
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    tokens = section(page, "tokens")
    before = len(Api(live_server, team["ada"]).get("/api/tokens").json()["tokens"])

    form = page.get_by_test_id("add-token")
    form.get_by_test_id("new-token-agent").select_option(label="Sam Supervisor (supervisor)")
    form.get_by_test_id("new-token-label").fill("Reporting <script>x</script>")
    form.get_by_test_id("new-token-submit").click()
    secret_box = page.get_by_test_id("token-secret")
    expect(secret_box).to_be_visible()
    expect(secret_box).to_contain_text("shown only once")
    expect(page.get_by_test_id("token-secret-value")).to_be_focused()
    secret = page.get_by_test_id("token-secret-value").input_value()
    assert re.fullmatch(r"cs_[A-Za-z0-9_-]{20,}", secret), secret
    page.get_by_test_id("token-copy").click()
    expect(page.get_by_test_id("token-copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret

    # Listed without its secret; it works on the API as Sam (a supervisor: reports, yes).
    row = tokens.get_by_test_id("token").first
    expect(row.locator("th")).to_have_text("Reporting <script>x</script>")
    expect(row).to_contain_text("Sam Supervisor")
    expect(row.get_by_test_id("token-status")).to_have_text("Active")
    expect(tokens.get_by_test_id("token")).to_have_count(before + 1)
    assert secret not in (tokens.get_by_test_id("tokens").inner_html())
    sam = Api(live_server, secret)
    assert sam.get("/api/reports").status_code == 200
    assert sam.get("/api/agents").status_code == 200

    # Never shown again: not after "Done", not in the page when it is read again.
    page.get_by_role("button", name="Done").click()
    expect(secret_box).to_be_hidden()
    expect(tokens.get_by_role("heading", name="API tokens")).to_be_focused()
    page.reload()
    expect(page.get_by_test_id("token-secret")).to_be_hidden()
    assert secret not in page.content()

    # Revoked (after a confirmation): it stops working at once.
    row = page.get_by_test_id("token").filter(has_text="Reporting")
    row.get_by_test_id("token-revoke").click()
    expect(row.get_by_test_id("token-status")).to_have_text("Revoked")
    expect(row.get_by_test_id("token-revoke")).to_have_count(0)
    assert sam.get("/api/reports").status_code == 401


def test_an_admin_creates_an_integration_token_that_writes_orders_and_nothing_else(
        live_server: LiveServer, admin_page: Page) -> None:
    page = admin_page
    form = page.get_by_test_id("add-integration-token")
    form.get_by_test_id("new-integration-token-label").fill("Shop back end")
    form.get_by_test_id("new-integration-token-submit").click()
    expect(page.get_by_test_id("token-secret")).to_be_visible()
    secret = page.get_by_test_id("token-secret-value").input_value()
    row = section(page, "tokens").get_by_test_id("token").filter(has_text="Shop back end")
    expect(row).to_contain_text("The shop's systems (integration)")

    shop = {"Authorization": f"Bearer {secret}"}
    order = httpx.post(live_server.url + "/api/orders", headers=shop, timeout=10, json={
        "external_id": "1042", "email": "maya@example.com", "product": "Course Pro",
        "amount_cents": 4900, "currency": "USD"})
    assert order.status_code == 201, order.text
    assert Api(live_server, secret).get("/api/reports").status_code == 403
    page.get_by_role("button", name="Done").click()
    page.reload()
    assert secret not in page.content()


def test_changes_without_the_csrf_token_are_refused(
        live_server: LiveServer, team: dict[str, str], admin_page: Page) -> None:
    page, api = admin_page, Api(live_server, team["ada"])
    ann_id = api.agents()[AGENT]["id"]

    # The page's own session cookie, without the X-CSRF-Token header: 403, nothing changes.
    refused = page.evaluate("""async (annId) => {
        const send = async (method, url, body) => {
            const r = await fetch(url, {method, credentials: 'same-origin',
                headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
            return [r.status, (await r.json()).error.code];
        };
        return [
            await send('POST', '/api/canned', {shortcut: 'forged', text: 'x'}),
            await send('PATCH', '/api/agents/' + annId, {disabled: true}),
            await send('PUT', '/api/widget-settings', {title: 'Forged'}),
            await send('PUT', '/api/allowed-origins', {origins: ['https://evil.example']}),
            await send('POST', '/api/tokens', {label: 'forged'}),
        ];
    }""", ann_id)
    assert refused == [[403, "csrf"]] * 5
    assert api.get("/api/canned").json()["canned"] == []
    assert api.agents()[AGENT]["disabled"] is False
    assert httpx.get(live_server.url + "/api/widget-settings",
                     timeout=10).json()["widget"]["title"] != "Forged"
    assert api.get("/api/allowed-origins").json()["origins"] == []
    assert not [t for t in api.get("/api/tokens").json()["tokens"] if t["label"] == "forged"]

    # A page whose token is wrong shows the refusal, and nothing is added.
    page.evaluate("""document.body.setAttribute('hx-headers', '{"X-CSRF-Token": "forged"}')""")
    form = page.get_by_test_id("add-canned")
    form.get_by_test_id("new-canned-shortcut").fill("hello")
    form.get_by_test_id("new-canned-text").fill("Hello!")
    form.get_by_test_id("new-canned-submit").click()
    expect(page.get_by_text("Your session's form token is missing or wrong")).to_be_visible()
    assert api.get("/api/canned").json()["canned"] == []

    # With the page's real token, the same form works.
    page.reload()
    form = page.get_by_test_id("add-canned")
    form.get_by_test_id("new-canned-shortcut").fill("hello")
    form.get_by_test_id("new-canned-text").fill("Hello!")
    form.get_by_test_id("new-canned-submit").click()
    expect(section(page, "canned").get_by_test_id("canned")).to_have_count(1)


@pytest.mark.parametrize("email", [SUPERVISOR, AGENT])
def test_non_admins_are_refused(live_server: LiveServer, team: dict[str, str],
                                context: BrowserContext, email: str) -> None:
    page = context.new_page()
    page.goto(live_server.url + "/console/admin")
    expect(page).to_have_url(re.compile(r"/console/login\?next=/console/admin"))
    sign_in(page, live_server.url, email, PASSWORD)
    response = page.goto(live_server.url + "/console/admin")
    assert response is not None and response.status == 403
    expect(page.get_by_test_id("forbidden")).to_contain_text("Admin is for admins")
    expect(page.locator("[hx-post], [hx-put], [hx-delete]")).to_have_count(0)
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    # Their session with its real CSRF token still cannot change what an admin does.
    status = page.evaluate("""async () => {
        const csrf = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
        const r = await fetch('/api/canned', {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
            body: JSON.stringify({shortcut: 'mine', text: 'x'})});
        return [r.status, (await r.json()).error.code];
    }""")
    assert status == [403, "forbidden"]


@pytest.mark.parametrize("size", [(768, 1024), (1024, 768)], ids=["portrait", "landscape"])
def test_admin_fits_a_tablet(live_server: LiveServer, team: dict[str, str], browser: Browser,
                             size: tuple[int, int]) -> None:
    context = new_context(browser, viewport={"width": size[0], "height": size[1]},
                          has_touch=True)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, ADMIN, PASSWORD)
        page.goto(live_server.url + "/console/admin")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        for test_id in ("agents", "add-agent", "widget-form", "origins-form", "add-token"):
            target = page.get_by_test_id(test_id)
            target.scroll_into_view_if_needed()
            box = target.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size[0]
        # The section links stay at hand and lead to their section.
        page.locator(".pg-admin-nav").get_by_role("link", name="API tokens").click()
        expect(page.get_by_test_id("add-token")).to_be_in_viewport()
        if size[0] == 768:
            page.evaluate("window.scrollTo(0, 0)")
            screenshot(page, "console-admin-tablet")
    finally:
        context.close()


def test_the_pages_work_under_the_consoles_content_security_policy(
        live_server: LiveServer, team: dict[str, str], browser: Browser) -> None:
    """No inline script or style: the pages render and the forms work with the CSP enforced."""
    context = new_context(browser, bypass_csp=False)  # CSP not bypassed
    try:
        page = context.new_page()
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text)
                if "Content Security Policy" in m.text else None)
        sign_in(page, live_server.url, ADMIN, PASSWORD)
        for path in ("/console/reports", "/console/admin"):
            response = page.goto(live_server.url + path)
            assert response is not None and response.status == 200
            assert "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.get_by_test_id("admin")).to_be_visible()
        form = page.get_by_test_id("add-canned")
        form.get_by_test_id("new-canned-shortcut").fill("hello")
        form.get_by_test_id("new-canned-text").fill("Hello! How can I help?")
        form.get_by_test_id("new-canned-submit").click()
        expect(section(page, "canned").get_by_test_id("canned")).to_have_count(1)
        assert refused == []
    finally:
        context.close()


def test_an_admin_adds_a_webhook_endpoint_sees_its_secret_once_and_its_deliveries(
        db_url: str, tmp_path: Path, context: BrowserContext) -> None:
    server = start_server(db_url, tmp_path / "server.log",
                          env={"CHATSERVER_WEBHOOKS_ALLOW_PRIVATE": "1"})  # the receiver's
    try:
        add_agent(server.db_url, ADMIN, "Ada Admin", "admin", password=PASSWORD)
        with receiver() as shop:
            page = context.new_page()
            sign_in(page, server.url, ADMIN, PASSWORD)
            page.goto(server.url + "/console/admin#webhooks")
            add_endpoint_and_see_the_secret_once(page, shop.url)
            visitor_writes(server)
            [first] = shop.arrived(1)
            assert first.event["type"] == "conversation.created"
            see_the_delivery_and_resend_it(page, first.headers["webhook-id"])
            [_, again] = shop.arrived(2)
            assert again.headers["webhook-id"] == first.headers["webhook-id"]
    finally:
        server.stop()


def add_endpoint_and_see_the_secret_once(page: Page, url: str) -> None:
    webhooks = section(page, "webhooks")
    expect(webhooks.get_by_test_id("webhooks-empty")).to_be_visible()
    form = page.get_by_test_id("add-webhook")
    form.get_by_test_id("new-webhook-url").fill(url)
    for box in form.get_by_role("checkbox").all():
        box.uncheck()
    form.get_by_role("checkbox", name="conversation.created").check()
    form.get_by_test_id("new-webhook-submit").click()
    secret_box = page.get_by_test_id("webhook-secret")
    expect(secret_box).to_contain_text("shown only once")
    expect(page.get_by_test_id("webhook-secret-value")).to_be_focused()
    secret = page.get_by_test_id("webhook-secret-value").input_value()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{32}", secret), secret
    endpoint = webhooks.get_by_test_id("webhook-endpoint")
    expect(endpoint).to_contain_text(url)
    expect(endpoint).to_contain_text("conversation.created")
    page.get_by_role("button", name="Done").click()
    expect(secret_box).to_be_hidden()
    expect(webhooks.get_by_role("heading", name="Webhooks")).to_be_focused()
    page.reload()
    assert secret not in page.content()


def visitor_writes(server: LiveServer) -> None:
    with connect(server.url.replace("http://", "ws://") + "/ws/visitor") as ws:
        ws.send(json.dumps({"type": "hello", "name": "Maya"}))
        ws.send(json.dumps({"type": "message", "client_id": "c1", "text": "hello"}))
        while json.loads(ws.recv(timeout=10))["type"] != "ack":
            pass


def see_the_delivery_and_resend_it(page: Page, webhook_id: str) -> None:
    webhooks = section(page, "webhooks")
    deadline = time.monotonic() + 10
    while True:  # the receiver has the post a moment before the server keeps its answer
        page.reload()
        status = webhooks.get_by_test_id("webhook-delivery-status")
        if status.count() and status.inner_text() == "Delivered":
            break
        assert time.monotonic() < deadline, "the delivery was not shown delivered"
    delivery = webhooks.get_by_test_id("webhook-delivery")
    expect(delivery).to_contain_text(webhook_id)
    expect(delivery.get_by_test_id("webhook-delivery-answer")).to_have_text("200 thanks")
    assert axe_faults(page, "#webhooks") == []  # with an endpoint and a delivery in it
    delivery.get_by_test_id("webhook-resend").click()
    expect(webhooks.locator("[data-notice]")).to_have_text(f"{webhook_id} will be sent again.")
