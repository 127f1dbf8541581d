"""The console's Reports page in a real browser against a real server.

What it reports is made the way it happens: visitors write over the widget's socket, an
agent answers (or not) and closes over the agent socket, a visitor rates, and the shop's back
end refunds and credits over the REST API. A supervisor then reads the figures and charts."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from websockets.sync.client import ClientConnection, connect

from tests.backends import query
from tests.browser.conftest import new_context, screenshot
from tests.browser.test_console import (
    XSS,
    VisitorClient,
    sign_in,
    visitors,  # noqa: F401  (a fixture used by these tests)
)
from tests.conftest import LiveServer, add_agent

PASSWORD = "correct horse battery staple"
SUPERVISOR, AGENT, ADMIN = "sam@example.com", "ann@example.com", "ada@example.com"
COMMENT = "Quick and kind! " + XSS

Frame = dict[str, Any]


class AgentClient:
    """An agent's socket with an API token, as an integration would hold it."""

    def __init__(self, ws_base: str, token: str) -> None:
        self._exit = contextlib.ExitStack()
        self.ws: ClientConnection = self._exit.enter_context(connect(
            ws_base + "/ws/agent", open_timeout=10, max_queue=None,  # never stalls closing
            additional_headers={"Authorization": f"Bearer {token}"}))
        self.wait_for(lambda f: f["type"] == "welcome")

    def send(self, **frame: Any) -> None:
        self.ws.send(json.dumps(frame))

    def wait_for(self, match: Callable[[Frame], bool], timeout: float = 10) -> Frame:
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        while (left := (deadline - datetime.now(UTC)).total_seconds()) > 0:
            frame: Frame = json.loads(self.ws.recv(timeout=left))
            if match(frame):
                return frame
        raise AssertionError(f"no matching frame in {timeout}s")

    def available(self) -> None:
        self.send(type="presence", status="available")
        self.send(type="ping")
        self.wait_for(lambda f: f["type"] == "pong")

    def say(self, conversation_id: int, text: str) -> None:
        client_id = uuid.uuid4().hex
        self.send(type="message", conversation_id=conversation_id, client_id=client_id,
                  text=text)
        self.wait_for(lambda f: f["type"] == "ack" and f["client_id"] == client_id)

    def close_chat(self, conversation_id: int) -> None:
        self.send(type="close", conversation_id=conversation_id)

    def close(self) -> None:
        self._exit.close()


@pytest.fixture
def team(live_server: LiveServer) -> dict[str, str]:
    """Sam the supervisor, Ann the agent and Ada the admin; their API tokens."""
    return {
        "sam": add_agent(live_server.db_url, SUPERVISOR, "Sam Supervisor", "supervisor",
                         password=PASSWORD),
        "ann": add_agent(live_server.db_url, AGENT, "Ann <i>Agent</i>", capacity=3,
                         password=PASSWORD),
        "ada": add_agent(live_server.db_url, ADMIN, "Ada Admin", "admin", password=PASSWORD),
    }


def joined(visitor: VisitorClient) -> None:
    visitor.wait_for(lambda f: f["type"] == "status" and f["status"] == "active")


@pytest.fixture
def seeded(live_server: LiveServer, team: dict[str, str],
           visitors: Callable[..., VisitorClient]) -> Iterator[dict[str, int]]:  # noqa: F811
    """Today: one chat answered, closed and rated with a comment; one missed (closed with no
    reply); one still open. A refund of 15.00 USD and 5.00 USD of store credit."""
    ann = AgentClient(live_server.ws, team["ann"])
    try:
        ann.available()
        answered = visitors(name="Grace")
        first = answered.say("Where is my order?")["conversation_id"]
        joined(answered)
        ann.say(first, "It ships tomorrow.")
        ann.close_chat(first)
        answered.wait_for(lambda f: f["type"] == "status" and f["status"] == "closed")
        answered.ws.send(json.dumps({"type": "rate", "score": 4, "comment": COMMENT}))
        answered.wait_for(lambda f: f["type"] == "rated")

        missed = visitors(name="Linus")
        second = missed.say("Hello?")["conversation_id"]
        joined(missed)
        ann.close_chat(second)
        missed.wait_for(lambda f: f["type"] == "status" and f["status"] == "closed")

        still_open = visitors(name="Barbara")
        third = still_open.say("Can I change my plan?")["conversation_id"]
        joined(still_open)
    finally:
        ann.close()

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(live_server.url + path, json=body, timeout=10, headers={
            "Authorization": f"Bearer {team['ada']}", "Idempotency-Key": uuid.uuid4().hex})
        assert response.status_code == 201, response.text
        found: dict[str, Any] = response.json()
        return found

    order = post("/api/orders", {"external_id": "R-1", "email": "grace@example.com",
                                 "product": "Course", "amount_cents": 5000,
                                 "currency": "USD"})["order"]
    post(f"/api/orders/{order['id']}/refunds", {"amount_cents": 1500, "reason": "broken"})
    post(f"/api/customers/{order['customer_id']}/credits",
         {"amount_cents": 500, "currency": "USD", "reason": "sorry for the wait"})
    yield {"answered": first, "missed": second, "open": third}


def chat_day(live_server: LiveServer) -> datetime:
    """The day the seeded chats began, by the server's clock (not the test's: a run that
    crosses midnight still finds them)."""
    [(started,)] = query(live_server.db_url, "SELECT min(created_at) FROM conversations")
    return datetime.fromisoformat(str(started).replace("Z", "+00:00"))


def day_label(when: datetime) -> str:
    return f"{when:%b} {when.day}"


def tile(page: Page, name: str) -> Any:
    return page.get_by_test_id(f"tile-{name}")


def open_reports(page: Page, base_url: str, query: str = "") -> None:
    response = page.goto(base_url + "/console/reports" + query)
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()


def test_a_supervisor_reads_the_figures_and_charts_for_the_last_week(
        live_server: LiveServer, seeded: dict[str, int], context: BrowserContext) -> None:
    page = context.new_page()
    page.add_init_script("window.__pwned = undefined")
    sign_in(page, live_server.url, SUPERVISOR, PASSWORD)
    open_reports(page, live_server.url)
    expect(page.get_by_test_id("report-range")).to_contain_text("7 days")
    expect(page.get_by_test_id("day-row")).to_have_count(7)

    # The totals: three chats, one missed, one rating with its comment, the money.
    expect(tile(page, "chats").locator(".pg-tile-value")).to_have_text("3")
    expect(tile(page, "missed").locator(".pg-tile-value")).to_have_text("1")
    expect(tile(page, "missed")).to_contain_text("33% of chats")
    expect(tile(page, "first_response_seconds").locator(".pg-tile-value")).to_have_text(
        re.compile(r"^(<1s|\d+s)$"))
    expect(tile(page, "first_response_seconds")).to_contain_text("1 chat")
    expect(tile(page, "waiting_seconds")).to_contain_text("3 chats")
    expect(tile(page, "resolution_seconds")).to_contain_text("2 chats")
    expect(tile(page, "satisfaction").locator(".pg-tile-value")).to_have_text("4.00 / 5")
    expect(tile(page, "satisfaction")).to_contain_text("1 rating · 1 comment")
    expect(tile(page, "refunds")).to_contain_text("15.00 USD")
    expect(tile(page, "credits")).to_contain_text("5.00 USD")
    money = page.get_by_test_id("money-USD")
    expect(money).to_contain_text("15.00 USD")
    expect(money).to_contain_text("5.00 USD")

    # Chats per agent: Ann wrote in one of the three (not in the missed one, nor yet in the
    # open one); her name is shown as text, not markup.
    row = page.get_by_test_id("agents-table").get_by_test_id("agent-row")
    expect(row).to_have_count(1)
    expect(row.locator("th")).to_have_text("Ann <i>Agent</i>")
    expect(row.locator("td").first).to_have_text("1")
    expect(page.locator("main i")).to_have_count(0)

    # The comment, literally, with its score and a link to the chat.
    comment = page.get_by_test_id("comment")
    expect(comment).to_have_count(1)
    expect(comment).to_have_attribute("data-conversation-id", str(seeded["answered"]))
    expect(comment.locator(".pg-comment-text")).to_have_text(COMMENT)
    expect(comment.locator(".pg-stars")).to_have_attribute("aria-label", "4 out of 5")
    expect(page.get_by_test_id("comments").locator("script, img, b")).to_have_count(0)
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None

    # Six charts, each an accessible image with a title.
    svgs = page.locator("svg.pg-chart[role='img']")
    expect(svgs).to_have_count(6)
    for n in range(6):
        assert svgs.nth(n).locator("title").first.text_content()
    label = day_label(chat_day(live_server))
    chats = page.locator("#chart-chats")
    expect(chats.locator(f"rect.pg-bar[data-series='Chats'][data-label='{label}']")).to_have_attribute(
        "data-value", "3")
    expect(chats.locator(f"rect.pg-bar[data-series='Missed'][data-label='{label}']")).to_have_attribute(
        "data-value", "1")
    expect(chats.locator("rect.pg-bar[data-series='Chats']")).to_have_count(7)
    for chart in ("first-response-seconds", "waiting-seconds", "resolution-seconds"):
        points = page.locator(f"#chart-{chart} circle.pg-point")
        expect(points).to_have_count(2)  # median and p90, today only
        expect(points.first).to_have_attribute("data-label", label)
    expect(page.locator("#chart-satisfaction rect.pg-bar")).to_have_count(1)
    expect(page.locator("#chart-satisfaction rect.pg-bar")).to_have_attribute("data-value", "4")
    agent_bar = page.locator("#chart-agents g.pg-item")
    expect(agent_bar).to_have_attribute("data-label", "Ann <i>Agent</i>")
    expect(agent_bar).to_have_attribute("data-value", "1")
    # The chart tells its figures to a screen reader too.
    assert "Chats: " in (page.locator("#chart-chats desc").text_content() or "")

    # Readable at 1280x800: the charts are at their natural size, nothing scrolls sideways.
    box = page.locator("#chart-chats").bounding_box()
    assert box is not None and 480 <= box["width"] <= 640
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "console-reports")


def test_the_range_form_changes_the_days_shown(
        live_server: LiveServer, seeded: dict[str, int], context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, live_server.url, ADMIN, PASSWORD)
    open_reports(page, live_server.url)

    # Three days that end the day before the chats: none there, every day still listed.
    today = chat_day(live_server)
    end = today - timedelta(days=1)
    start = end - timedelta(days=2)
    form = page.get_by_test_id("range-form")
    form.get_by_test_id("range-from").fill(f"{start:%Y-%m-%d}")
    form.get_by_test_id("range-to").fill(f"{end:%Y-%m-%d}")
    form.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"from={start:%Y-%m-%d}&to={end:%Y-%m-%d}"))
    expect(page.get_by_test_id("report-range")).to_contain_text("3 days")
    rows = page.get_by_test_id("day-row")
    expect(rows).to_have_count(3)
    assert [rows.nth(n).get_attribute("data-day") for n in range(3)] == [
        f"{end - timedelta(days=n):%Y-%m-%d}" for n in range(3)]
    expect(tile(page, "chats").locator(".pg-tile-value")).to_have_text("0")
    expect(tile(page, "first_response_seconds").locator(".pg-tile-value")).to_have_text("—")
    expect(page.locator("#chart-chats rect.pg-bar[data-series='Chats']")).to_have_count(3)
    expect(page.locator("#chart-chats .pg-chart-empty")).to_have_text("No chats in this range")
    expect(page.locator("#chart-first-response-seconds circle.pg-point")).to_have_count(0)
    expect(page.get_by_test_id("comments")).to_contain_text("No comments in this range.")
    expect(page.get_by_test_id("money")).to_contain_text("No refunds or credit in this range.")

    # Today alone: one day, with everything.
    form = page.get_by_test_id("range-form")
    form.get_by_test_id("range-from").fill(f"{today:%Y-%m-%d}")
    form.get_by_test_id("range-to").fill(f"{today:%Y-%m-%d}")
    form.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("report-range")).to_contain_text(re.compile(r"\b1 day\b"))
    expect(page.get_by_test_id("day-row")).to_have_count(1)
    expect(tile(page, "chats").locator(".pg-tile-value")).to_have_text("3")
    expect(page.get_by_test_id("comment")).to_have_count(1)

    # A quick range: the last 30 days.
    page.get_by_role("link", name="Last 30 days").click()
    expect(page.get_by_test_id("day-row")).to_have_count(30)
    expect(page.get_by_role("link", name="Last 30 days")).to_have_attribute("aria-current", "true")
    expect(page.locator("#chart-chats rect.pg-bar[data-series='Chats']")).to_have_count(30)
    expect(tile(page, "chats").locator(".pg-tile-value")).to_have_text("3")

    # A range the server refuses says why and shows the last week instead.
    response = page.goto(live_server.url + f"/console/reports?from={today:%Y-%m-%d}"
                         f"&to={start:%Y-%m-%d}")
    assert response is not None and response.status == 422
    expect(page.get_by_test_id("range-error")).to_contain_text("must not be after the last")
    expect(page.get_by_test_id("day-row")).to_have_count(7)


def test_agents_are_refused_and_strangers_sent_to_sign_in(
        live_server: LiveServer, team: dict[str, str], context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(live_server.url + "/console/reports")
    expect(page).to_have_url(re.compile(r"/console/login\?next=/console/reports"))

    # Signing in there leads back to the page asked for: an agent is refused it.
    page.get_by_label("Email").fill(AGENT)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/reports$"))
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    response = page.goto(live_server.url + "/console/reports")
    assert response is not None and response.status == 403
    expect(page.get_by_test_id("forbidden")).to_contain_text(
        "Reports are for supervisors and admins")
    expect(page.locator("svg.pg-chart")).to_have_count(0)
    expect(page.get_by_test_id("tiles")).to_have_count(0)
    # ... and the API says the same.
    refused = httpx.get(live_server.url + "/api/reports", timeout=10,
                        headers={"Authorization": f"Bearer {team['ann']}"})
    assert refused.status_code == 403


@pytest.mark.parametrize("size", [(768, 1024), (1024, 768)], ids=["portrait", "landscape"])
def test_reports_fit_a_tablet(live_server: LiveServer, seeded: dict[str, int], browser: Browser,
                              size: tuple[int, int]) -> None:
    context = new_context(browser, viewport={"width": size[0], "height": size[1]},
                          has_touch=True)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, SUPERVISOR, PASSWORD)
        open_reports(page, live_server.url)
        for test_id in ("range-form", "tile-chats", "tile-satisfaction"):
            expect(page.get_by_test_id(test_id)).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        box = page.locator("#chart-chats").bounding_box()
        assert box is not None and box["width"] >= 0.8 * (size[0] - 80)  # one chart a row
        if size[0] == 768:
            screenshot(page, "console-reports-tablet")
    finally:
        context.close()
