"""The customer panel's server-rendered parts (console_views/customer.py), over HTTP as htmx
asks for them: the body for a chat, its forms posted and answered in place, approvals."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.web.conftest import InProcessServer
from tests.web.test_commerce_api import IDENTITY_SECRET, WEBHOOK_SECRET, Api, Shop, open_chat, staff

PASSWORD = "a long enough password"
HOSTILE = "<img src=x onerror=alert(1)>"


@dataclass
class Console:
    """A signed-in console page: its session cookie and CSRF token, as htmx sends them."""

    client: httpx.Client
    csrf: str

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path, headers={"HX-Request": "true"})

    def post(self, path: str, **form: str) -> httpx.Response:
        return self.client.post(path, data=form, headers={"HX-Request": "true",
                                                          "X-CSRF-Token": self.csrf})


@pytest.fixture
def shop(serve: Callable[..., InProcessServer]) -> Iterator[Shop]:
    """test_commerce_api's shop, its staff able to sign in to the console."""
    server = serve(webhook_secret=WEBHOOK_SECRET, identity_secret=IDENTITY_SECRET)
    ann, sue, ada = staff(server, ("ann@example.com", "agent"), ("sue@example.com",
                          "supervisor"), ("ada@example.com", "admin"), password=PASSWORD)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield Shop(server, Api(server, ann, client), Api(server, sue, client),
                   Api(server, ada, client), Api(server, server.integration(), client))


@pytest.fixture
def consoles(shop: Shop) -> Iterator[dict[str, Console]]:
    found = {}
    for name in ("ann", "sue", "ada"):
        cookie = shop.server.sign_in(f"{name}@example.com", PASSWORD)
        client = httpx.Client(base_url=shop.server.url, cookies={"chatserver_session": cookie},
                              timeout=10)
        page = client.get("/console")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert csrf is not None
        found[name] = Console(client, csrf.group(1))
    yield found
    for console in found.values():
        console.client.close()


def key_of(html: str, order_id: int) -> str:
    form = html[html.index(f"/orders/{order_id}/refund"):]
    found = re.search(r'name="key" value="([^"]+)"', form)
    assert found is not None
    return found.group(1)


async def test_verify_then_refund_in_place_once_per_key(shop: Shop,
                                                        consoles: dict[str, Console]) -> None:
    order = shop.system.order("1042", email="maya@example.com", amount=14900)
    chat = await open_chat(shop, name="Maya")
    ann = consoles["ann"]
    parts = f"/console/parts/customer/{chat.conversation_id}"

    body = ann.get(parts)
    assert body.status_code == 200
    assert 'data-testid="verify-email"' in body.text
    assert 'data-testid="order"' not in body.text

    wrong = ann.post(f"{parts}/verify", order="1042", email="someone@example.com")
    assert wrong.status_code == 404
    assert "No order with that number was bought with that email." in wrong.text
    assert 'value="1042"' in wrong.text  # kept for another try

    verified = ann.post(f"{parts}/verify", order="1042", email="maya@example.com")
    assert verified.status_code == 200, verified.text
    assert '"console:changed"' in verified.headers["HX-Trigger-After-Swap"]
    assert "✓ verified in this chat" in verified.text
    assert "149.00 USD" in verified.text

    refund = f"{parts}/customers/{order['customer_id']}/orders/{order['id']}/refund"
    key = key_of(verified.text, order["id"])
    bad = ann.post(refund, key=key, amount="12.555", reason="Could not finish")
    assert bad.status_code == 422
    assert "Enter the amount in USD, like 12.50." in bad.text
    assert 'value="12.555"' in bad.text

    done = ann.post(refund, key=key, amount="12.5", reason="Could not finish")
    assert done.status_code == 200, done.text
    assert "Refunded 12.50 USD." in done.text
    assert "136.50 USD" in done.text
    assert key_of(done.text, order["id"]) != key  # a fresh form: a new submission
    again = ann.post(refund, key=key, amount="12.5", reason="Could not finish")
    assert "Refunded 12.50 USD." in again.text
    assert shop.rows("SELECT amount_cents FROM ledger") == [(1250,)]

    too_much = ann.post(refund, key=str(uuid.uuid4()), amount="200", reason="All of it")
    assert too_much.status_code == 409
    assert "Only 136.50 USD of this order can be refunded." in too_much.text

    live = ann.get(f"{parts}?live=1")
    assert 'hx-swap-oob="true"' in live.text and "<form" not in live.text


async def test_over_the_limit_waits_and_only_another_overseer_approves(
        shop: Shop, consoles: dict[str, Console]) -> None:
    order = shop.system.order("2001", email="maya@example.com", amount=14900)
    chat = await open_chat(shop, name="Maya")
    ann, sue = consoles["ann"], consoles["sue"]
    parts = f"/console/parts/customer/{chat.conversation_id}"
    ann.post(f"{parts}/verify", order="2001", email="maya@example.com")
    asked = ann.post(f"{parts}/customers/{order['customer_id']}/orders/{order['id']}/refund",
                     key=str(uuid.uuid4()), amount="60", reason="Course too basic")
    assert asked.status_code == 200
    assert "Sent for approval: over the agent limit" in asked.text
    assert 'data-testid="customer-approval"' in asked.text

    assert 'data-testid="approve"' not in ann.get("/console/parts/customer/approvals").text
    waiting = sue.get("/console/parts/customer/approvals")
    assert "Approve: Refund of 60.00 USD on order 2001" in waiting.text
    assert 'id="approvals-count"' in waiting.text
    [approval_id] = re.findall(r'data-approval-id="(\d+)"', waiting.text)
    refused = ann.post(f"/console/parts/customer/approvals/{approval_id}/approve")
    assert refused.status_code == 403
    approved = sue.post(f"/console/parts/customer/approvals/{approval_id}/approve")
    assert approved.status_code == 200, approved.text
    assert "Approved: Refund of 60.00 USD on order 2001 is done." in approved.text
    assert "Nothing is waiting for a decision." in approved.text


async def test_a_supervisor_may_only_withdraw_their_own_request(
        shop: Shop, consoles: dict[str, Console]) -> None:
    order = shop.system.order("5001", email="maya@example.com", amount=90000)
    chat = await open_chat(shop, name="Maya")
    sue = consoles["sue"]
    parts = f"/console/parts/customer/{chat.conversation_id}"
    link = sue.client.post(f"/api/conversations/{chat.conversation_id}/customer",
                           json={"customer_id": order["customer_id"]},
                           headers={"X-CSRF-Token": sue.csrf})
    assert link.status_code == 200, link.text
    asked = sue.post(f"{parts}/customers/{order['customer_id']}/orders/{order['id']}/refund",
                     key=str(uuid.uuid4()), amount="600", reason="Licence never used")
    assert "Sent for approval: over the supervisor limit of 500.00" in asked.text
    own = sue.get("/console/parts/customer/approvals").text
    assert "Your own request: another supervisor or an admin decides it." in own
    assert 'data-testid="approve"' not in own
    assert "Withdraw: Refund of 600.00 USD on order 5001" in own
    theirs = consoles["ada"].get("/console/parts/customer/approvals").text
    assert "Approve: Refund of 600.00 USD on order 5001" in theirs
    [approval_id] = re.findall(r'data-approval-id="(\d+)"', own)
    withdrawn = sue.post(f"/console/parts/customer/approvals/{approval_id}/reject")
    assert "Withdrawn: Refund of 600.00 USD on order 5001." in withdrawn.text


async def test_what_the_panel_shows_is_escaped_and_changes_need_the_csrf_token(
        shop: Shop, consoles: dict[str, Console]) -> None:
    order = shop.system.order(HOSTILE[:20], email="maya@example.com", product=HOSTILE,
                              name=HOSTILE)
    chat = await open_chat(shop, name=HOSTILE)
    ann = consoles["ann"]
    parts = f"/console/parts/customer/{chat.conversation_id}"
    verified = ann.post(f"{parts}/verify", order=order["external_id"], email="maya@example.com")
    assert verified.status_code == 200, verified.text
    credit = ann.post(f"{parts}/customers/{order['customer_id']}/credit", key=str(uuid.uuid4()),
                      amount="5", currency="USD", expires="", reason=HOSTILE)
    assert credit.status_code == 200, credit.text
    asked = ann.post(f"{parts}/customers/{order['customer_id']}/orders/{order['id']}/refund",
                     key=str(uuid.uuid4()), amount="100", reason=HOSTILE)
    assert "Sent for approval" in asked.text
    for html in (credit.text, ann.get(parts).text, consoles["sue"].get(
            "/console/parts/customer/approvals").text):
        assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in credit.text
    assert consoles["sue"].get("/console/parts/customer/approvals").text.count(
        "&lt;img src=x onerror=") >= 2  # the order number, the reason

    bad_currency = ann.post(f"{parts}/customers/{order['customer_id']}/credit",
                            key=str(uuid.uuid4()), amount="5", currency="US", reason="Sorry")
    assert bad_currency.status_code == 422
    assert "The currency is a three-letter code like USD." in bad_currency.text
    assert ann.get("/console/parts/customer/999999").status_code == 404

    forged = ann.client.post(f"{parts}/verify", data={"order": "x", "email": "a@b.co"},
                             headers={"HX-Request": "true"})
    assert forged.status_code == 403
    others = consoles["sue"].get(parts)  # not her chat: she sees it, with no forms
    assert others.status_code == 200 and "<form" not in others.text
