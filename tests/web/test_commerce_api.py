"""Customers, orders, refunds, store credit and approvals over REST, against a real server.

What an integrator (posting orders, signing webhooks) or an agent (refunding inside a chat)
would notice: status codes in the contract's check order, bodies, what reaches the visitor,
and what is (or is not) in the database afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import websockets

from chatserver.domain.identity import sign_identity
from tests.backends import query
from tests.web.conftest import InProcessServer, Peer, agent, visitor

WEBHOOK_SECRET = "whsec-test"
IDENTITY_SECRET = "idsec-test"
NAMES = {"ann": "Ann", "bob": "Bob", "sue": "Sue", "ada": "Ada", "val": "Val"}


def staff(server: InProcessServer, *people: tuple[str, str],
          password: str | None = None) -> list[str]:
    """Agents `(email, role)`, named after their email; one API token each."""
    return server.staff(*((email, NAMES.get(email.split("@")[0], email), role)
                          for email, role in people), password=password)


@dataclass
class Api:
    """One caller of the REST API: a token (or none), over the test's kept-alive client."""

    server: InProcessServer
    token: str | None
    client: httpx.Client

    def headers(self, key: str | None = None, **more: str) -> dict[str, str]:
        found = {"Content-Type": "application/json", **more}
        if self.token is not None:
            found["Authorization"] = f"Bearer {self.token}"
        if key is not None:
            found["Idempotency-Key"] = key
        return found

    def post(self, path: str, body: Any = None, *, key: str | None = None,
             content: bytes | None = None) -> httpx.Response:
        raw = content if content is not None else b"" if body is None else orjson.dumps(body)
        return self.client.post(path, content=raw, headers=self.headers(key))

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.client.get(path, params=params, headers=self.headers())

    def order(self, external_id: str, email: str = "maya@example.com", amount: int = 20000,
              product: str = "Course Pro", currency: str = "USD",
              **more: Any) -> dict[str, Any]:
        """Create (or update) an order; returns it as the server shows it."""
        response = self.post("/api/orders", {
            "external_id": external_id, "email": email, "name": "Maya", "product": product,
            "amount_cents": amount, "currency": currency, **more})
        assert response.status_code in (200, 201), response.text
        found: dict[str, Any] = response.json()
        return found

    def refund(self, order_id: int, amount: int, key: str | None = None,
               **more: Any) -> httpx.Response:
        return self.post(f"/api/orders/{order_id}/refunds",
                         {"amount_cents": amount, "reason": "course did not load", **more},
                         key=key or str(uuid.uuid4()))

    def credit(self, customer_id: int, amount: int, currency: str = "USD",
               key: str | None = None, **more: Any) -> httpx.Response:
        return self.post(f"/api/customers/{customer_id}/credits",
                         {"amount_cents": amount, "currency": currency,
                          "reason": "sorry for the wait", **more},
                         key=key or str(uuid.uuid4()))

    def customer(self, customer_id: int) -> dict[str, Any]:
        response = self.get(f"/api/customers/{customer_id}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def refundable(self, order: dict[str, Any]) -> int:
        [found] = [o for o in self.customer(order["customer_id"])["orders"]
                   if o["id"] == order["id"]]
        return int(found["refundable_cents"])


@dataclass
class Shop:
    """A server with webhook and identity secrets, one agent, supervisor and admin, and the
    shop's systems (an integration token: they write the orders)."""

    server: InProcessServer
    ann: Api  # agent
    sue: Api  # supervisor
    ada: Api  # admin
    system: Api  # integration

    def api(self, token: str | None) -> Api:
        return Api(self.server, token, self.ann.client)

    def rows(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        return query(self.server.settings.database_url, sql, *args)


@pytest.fixture
def shop(serve: Callable[..., InProcessServer]) -> Iterator[Shop]:
    server = serve(webhook_secret=WEBHOOK_SECRET, identity_secret=IDENTITY_SECRET)
    ann, sue, ada = staff(server, ("ann@example.com", "agent"),
                          ("sue@example.com", "supervisor"), ("ada@example.com", "admin"))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield Shop(server, Api(server, ann, client), Api(server, sue, client),
                   Api(server, ada, client), Api(server, server.integration(), client))


@dataclass
class Chat:
    visitor: Peer
    agent: Peer
    conversation_id: int


async def open_chat(shop: Shop, **hello: Any) -> Chat:
    """A visitor writes in and Ann (available) is assigned the conversation."""
    staff_peer = await agent(shop.server, str(shop.ann.token))
    peer, _ = await visitor(shop.server, **hello)
    await peer.send("message", client_id="v-1", text="I would like a refund please")
    conversation_id = (await peer.expect("ack", client_id="v-1"))["conversation_id"]
    assigned = await staff_peer.expect("assigned")
    assert assigned["conversation"]["id"] == conversation_id
    return Chat(peer, staff_peer, conversation_id)


async def chat_with_verified_purchase(shop: Shop, order: dict[str, Any],
                                      email: str | None = None) -> Chat:
    """Ann verifies the order number and the buyer's email in the chat."""
    chat = await open_chat(shop, name="Maya")
    verified = shop.ann.post(f"/api/conversations/{chat.conversation_id}/verify",
                             {"order": order["external_id"], "email": email or order["email"]})
    assert verified.status_code == 200, verified.text
    assert chat.conversation_id in verified.json()["order"]["verified_in_conversations"]
    await chat.visitor.expect(
        "message", text=f"Purchase verified: order {order['external_id']}, {order['product']}")
    return chat


def identity(user_id: str, email: str) -> dict[str, Any]:
    ts = int(time.time())
    return {"user_id": user_id, "email": email, "name": "Maya", "ts": ts,
            "hash": sign_identity(IDENTITY_SECRET, user_id, email, ts)}


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def ledger_count(shop: Shop) -> int:
    return int(shop.rows("SELECT COUNT(*) FROM ledger")[0][0])  # type: ignore[arg-type]


# --- orders ------------------------------------------------------------------------------

def test_posting_an_order_creates_it_then_the_same_external_id_updates_it(shop: Shop) -> None:
    body = {"external_id": "1042", "email": "maya@example.com", "name": "Maya",
            "product": "Course Pro", "amount_cents": 4900, "currency": "usd"}
    created = shop.system.post("/api/orders", body)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["external_id"] == "1042" and order["amount_cents"] == 4900
    assert order["order"] == {k: v for k, v in order.items() if k != "order"}  # also wrapped
    assert order["currency"] == "USD" and order["status"] == "paid"
    assert order["refundable_cents"] == 4900 and isinstance(order["id"], int)

    updated = shop.system.post("/api/orders", {**body, "amount_cents": 5900})
    assert updated.status_code == 200, updated.text
    assert updated.json()["id"] == order["id"]
    assert updated.json()["amount_cents"] == 5900
    assert shop.rows("SELECT external_id, amount_cents FROM orders") == [("1042", 5900)]


def test_resending_an_unchanged_order_keeps_its_purchase_time(shop: Shop) -> None:
    body = {"external_id": "1042", "email": "maya@example.com", "product": "Course Pro",
            "amount_cents": 4900, "currency": "USD"}
    first = shop.system.post("/api/orders", body).json()["order"]
    time.sleep(0.01)
    again = shop.system.post("/api/orders", body)
    assert again.status_code == 200
    assert again.json()["order"]["purchased_at"] == first["purchased_at"]
    assert shop.rows("SELECT COUNT(*) FROM orders") == [(1,)]


def test_an_order_given_a_purchase_time_keeps_it_in_utc(shop: Shop) -> None:
    order = shop.system.order("1042", purchased_at="2025-03-01T10:00:00+01:00", status="refunded")
    assert order["purchased_at"].startswith("2025-03-01T09:00:00")
    assert order["purchased_at"].endswith("Z") and order["status"] == "refunded"


INVALID_ORDERS: list[tuple[dict[str, Any], str]] = [
    ({"email": None}, "email"),
    ({"email": "not an email"}, "email"),
    ({"amount_cents": 19.99}, "amount_cents"),
    ({"amount_cents": "1999"}, "amount_cents"),
    ({"amount_cents": -5}, "amount_cents"),
    ({"currency": "DOLLAR"}, "currency"),
    ({"external_id": None}, "external_id"),
    ({"product": None}, "product"),
    ({"purchased_at": "yesterday"}, "purchased_at"),
    ({"purchased_at": "0999-06-01T00:00:00Z"}, "purchased_at"),  # would not sort as text
    ({"purchased_at": "0001-01-01T00:00:00+01:00"}, "purchased_at"),  # before year 1 in UTC
    ({"purchased_at": "9999-12-31T23:59:59-01:00"}, "purchased_at"),  # after 9999 in UTC
]


def test_an_invalid_order_is_422_naming_the_field_and_stores_nothing(shop: Shop) -> None:
    valid = {"external_id": "1042", "email": "maya@example.com", "product": "Course Pro",
             "amount_cents": 4900, "currency": "USD"}
    for change, field in INVALID_ORDERS:
        body = {k: v for k, v in {**valid, **change}.items() if v is not None}
        response = shop.system.post("/api/orders", body)
        assert response.status_code == 422, (change, response.text)
        assert error_code(response) == "invalid"
        assert field in response.json()["error"]["message"], change
    for raw in (b"{not json", b"[1, 2]", b""):
        response = shop.system.post("/api/orders", content=raw)
        assert response.status_code == 422, raw
        assert error_code(response) == "invalid" and response.json()["error"]["message"]
    assert shop.rows("SELECT COUNT(*) FROM orders") == [(0,)]


def test_orders_and_customers_need_a_valid_token(shop: Shop) -> None:
    body = {"external_id": "1042", "email": "maya@example.com", "product": "Course Pro",
            "amount_cents": 4900, "currency": "USD"}
    for token in (None, "cs_not_a_real_token"):
        api = shop.api(token)
        for response in (api.post("/api/orders", body),
                         api.get("/api/customers", email="maya@example.com"),
                         api.get("/api/customers/1")):
            assert response.status_code == 401
            assert error_code(response) == "unauthorized"
    assert shop.rows("SELECT COUNT(*) FROM orders") == [(0,)]


def test_only_an_admin_or_an_integration_token_writes_orders(shop: Shop) -> None:
    body = {"external_id": "1042", "email": "maya@example.com", "product": "Course Pro",
            "amount_cents": 4900, "currency": "USD"}
    assert shop.system.post("/api/orders", body).status_code == 201
    for caller in (shop.ann, shop.sue):  # an agent could raise an amount, then refund it
        refused = caller.post("/api/orders", {**body, "amount_cents": 99900})
        assert refused.status_code == 403 and error_code(refused) == "forbidden"
        moved = caller.post("/api/orders", {**body, "external_id": "1043"})
        assert moved.status_code == 403
    assert shop.rows("SELECT external_id, amount_cents FROM orders") == [("1042", 4900)]
    corrected = shop.ada.post("/api/orders", {**body, "amount_cents": 3900})
    assert corrected.status_code == 200, corrected.text
    assert shop.rows("SELECT amount_cents FROM orders") == [(3900,)]


async def test_an_integration_token_reads_customers_and_does_nothing_an_agent_does(
        shop: Shop) -> None:
    order = shop.system.order("1042")
    assert shop.system.customer(order["customer_id"])["email"] == "maya@example.com"
    found = shop.system.get("/api/customers", email="maya@example.com").json()["customers"]
    assert [c["id"] for c in found] == [order["customer_id"]]
    for response in (shop.system.refund(order["id"], 100),
                     shop.system.credit(order["customer_id"], 100),
                     shop.system.get("/api/approvals"),
                     shop.system.post("/api/approvals/1/approve"),
                     shop.system.get("/api/conversations"),
                     shop.system.post("/api/tokens", {"label": "mine"})):
        assert response.status_code == 403, response.text
        assert error_code(response) == "integration_token"
    # the contract's order of checks holds for it too: 422 and 404 come before its 403
    for missing in (shop.system.refund(999_999, 100), shop.system.credit(999_999, 100),
                    shop.system.refund(order["id"], 100, conversation_id=999_999)):
        assert (missing.status_code, error_code(missing)) == (404, "not_found"), missing.text
    keyless = shop.system.client.post(f"/api/orders/{order['id']}/refunds",
                                      json={"amount_cents": 100, "reason": "late"},
                                      headers=shop.system.headers())
    assert (keyless.status_code, error_code(keyless)) == (422, "idempotency_key_required")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(shop.server.ws + "/ws/agent", additional_headers={
            "Authorization": f"Bearer {shop.system.token}"})
    assert refused.value.response.status_code == 403
    assert ledger_count(shop) == 0 and shop.rows("SELECT COUNT(*) FROM api_tokens") == [(4,)]


def test_an_admin_makes_and_revokes_integration_tokens_others_cannot(shop: Shop) -> None:
    for caller in (shop.ann, shop.sue):
        refused = caller.post("/api/tokens", {"integration": True})
        assert refused.status_code == 403 and error_code(refused) == "forbidden"
    both = shop.ada.post("/api/tokens", {"integration": True, "agent_id": 1})
    assert both.status_code == 422 and error_code(both) == "invalid"
    made = shop.ada.post("/api/tokens", {"integration": True, "label": "shop back end"})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert (token["agent_id"], token["integration"]) == (None, True)
    listed = [t for t in shop.ada.get("/api/tokens").json()["tokens"] if t["id"] == token["id"]]
    assert [(t["label"], t["integration"], t["agent_name"]) for t in listed] == [
        ("shop back end", True, None)]
    system = shop.api(token["token"])
    assert system.get("/api/customers", email="maya@example.com").status_code == 200
    assert shop.ann.client.delete(f"/api/tokens/{token['id']}",
                                  headers=shop.ann.headers()).status_code == 404
    revoked = shop.ada.client.delete(f"/api/tokens/{token['id']}", headers=shop.ada.headers())
    assert revoked.status_code == 204
    assert system.get("/api/customers", email="maya@example.com").status_code == 401


def test_customers_are_found_by_email_whatever_its_case(shop: Shop) -> None:
    order = shop.system.order("1042", email="Maya@Example.com")
    shop.system.order("1043", email="lee@example.com")
    found = shop.ann.get("/api/customers", email="MAYA@EXAMPLE.COM")
    assert found.status_code == 200
    [customer] = found.json()["customers"]
    assert customer["id"] == order["customer_id"]
    assert customer["email"].lower() == "maya@example.com"
    assert shop.ann.get("/api/customers", email="nobody@example.com").json() == {
        "customers": []}
    missing = shop.ann.get("/api/customers")
    assert missing.status_code == 422 and error_code(missing) == "invalid"


def test_a_customer_shows_orders_ledger_balances_conversations_figures_and_audit(
        shop: Shop) -> None:
    first = shop.system.order("1042", amount=20000)
    second = shop.system.order("1043", amount=5000, product="Ebook")
    assert first["customer_id"] == second["customer_id"]
    assert shop.ada.refund(first["id"], 1500).status_code == 201
    customer = shop.ann.customer(first["customer_id"])
    assert customer["id"] == first["customer_id"]
    assert customer["customer"] == {k: v for k, v in customer.items() if k != "customer"}
    assert customer["email"] == "maya@example.com"
    orders = {o["external_id"]: o for o in customer["orders"]}
    assert set(orders) == {"1042", "1043"}
    assert orders["1042"]["id"] == first["id"]
    assert orders["1042"]["refundable_cents"] == 18500
    assert orders["1043"]["refundable_cents"] == 5000
    [entry] = customer["ledger"]
    assert entry["kind"] == "refund" and entry["amount_cents"] == 1500
    assert entry["order_external_id"] == "1042" and entry["agent"]["name"] == "Ada"
    assert customer["credit_balances"] == {}
    assert customer["conversations"] == []
    figures = customer["refund_figures"]
    assert figures["refunds_90d"] == 1 and figures["refunded_cents_lifetime"] == 1500
    assert figures["purchased_cents_lifetime"] == 25000
    assert any(a["action"] == "refund.issued" for a in customer["audit"])
    for path in ("/api/customers/999", "/api/customers/abc"):
        missing = shop.ann.get(path)
        assert missing.status_code == 404 and error_code(missing) == "not_found"


async def test_an_order_with_refunds_keeps_its_currency_its_buyer_and_at_least_their_sum(
        shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    chat = await chat_with_verified_purchase(shop, order)
    assert shop.ann.refund(order["id"], 3000,
                           conversation_id=chat.conversation_id).status_code == 201
    waiting = shop.ann.refund(order["id"], 3000, conversation_id=chat.conversation_id)
    assert waiting.status_code == 202, waiting.text  # 60.00 refunded or reserved
    body = {"external_id": "1042", "email": "maya@example.com", "name": "Maya",
            "product": "Course Pro", "amount_cents": 20000, "currency": "USD"}
    for change, code in (({"amount_cents": 5999}, "amount_below_refunded"),
                         ({"currency": "EUR"}, "currency_locked"),
                         ({"email": "eve@example.com"}, "customer_locked")):
        refused = shop.system.post("/api/orders", {**body, **change})
        assert refused.status_code == 409 and error_code(refused) == code, refused.text
    assert shop.rows("SELECT amount_cents, currency, email FROM orders") == [
        (20000, "USD", "maya@example.com")]
    assert shop.rows("SELECT email FROM customers") == [("maya@example.com",)]
    lowered = shop.system.post("/api/orders", {**body, "amount_cents": 6000,
                                            "email": "Maya@Example.com"})
    assert lowered.status_code == 200, lowered.text
    assert lowered.json()["refundable_cents"] == 0


def test_an_order_without_refunds_may_change_its_currency_and_buyer(shop: Shop) -> None:
    order = shop.system.order("1043", amount=5000)
    moved = shop.system.order("1043", email="lee@example.com", amount=100, currency="EUR")
    assert (moved["id"], moved["currency"], moved["amount_cents"]) == (order["id"], "EUR", 100)
    assert moved["customer_id"] != order["customer_id"]


# --- webhook -----------------------------------------------------------------------------

def signed(raw: bytes, timestamp: str, secret: str = WEBHOOK_SECRET) -> str:
    """What the shop's back end sends: HMAC-SHA256 of "{timestamp}.{raw body}"."""
    text = timestamp.encode() + b"." + raw
    return "sha256=" + hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()


def webhook(server: InProcessServer, raw: bytes, signature: str | None,
            timestamp: str | None, token: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if signature is not None:
        headers["X-Chatserver-Signature"] = signature
    if timestamp is not None:
        headers["X-Chatserver-Timestamp"] = timestamp
    return httpx.post(server.url + "/webhooks/orders", content=raw, headers=headers, timeout=10)


def send(server: InProcessServer, raw: bytes, age: int = 0) -> httpx.Response:
    """A webhook signed as the shop sends it, `age` seconds ago by this machine's clock."""
    timestamp = str(int(time.time()) - age)
    return webhook(server, raw, signed(raw, timestamp), timestamp)


def order_body(amount: int = 4900, external_id: str = "W-1") -> bytes:
    return orjson.dumps({"external_id": external_id, "email": "maya@example.com",
                         "product": "Course Pro", "amount_cents": amount, "currency": "USD"})


ORDER_BODY = order_body()


def test_a_correctly_signed_webhook_stores_the_order(shop: Shop) -> None:
    response = send(shop.server, ORDER_BODY, age=1)
    assert response.status_code == 201, response.text
    assert response.json()["external_id"] == "W-1"
    assert shop.rows("SELECT external_id, amount_cents FROM orders") == [("W-1", 4900)]
    now = str(int(time.time()))
    again = webhook(shop.server, ORDER_BODY, signed(ORDER_BODY, now).upper(), now)  # capitals
    assert again.status_code == 200, again.text
    assert again.json()["external_id"] == "W-1"
    assert shop.rows("SELECT COUNT(*) FROM orders") == [(1,)]


def test_a_signed_webhook_sent_with_a_token_takes_only_one_that_writes_orders(
        shop: Shop) -> None:
    now = str(int(time.time()))
    signature = signed(ORDER_BODY, now)
    for who, status in ((shop.ann, 403), (shop.sue, 403)):
        refused = webhook(shop.server, ORDER_BODY, signature, now, who.token)
        assert (refused.status_code, error_code(refused)) == (status, "forbidden")
    bad = webhook(shop.server, ORDER_BODY, signature, now, "not-a-token")
    assert (bad.status_code, error_code(bad)) == (401, "unauthorized")
    assert shop.rows("SELECT COUNT(*) FROM orders") == [(0,)]
    assert webhook(shop.server, ORDER_BODY, signature, now, shop.ada.token).status_code == 201
    later = str(int(now) + 1)
    assert webhook(shop.server, ORDER_BODY, signed(ORDER_BODY, later), later,
                   shop.system.token).status_code == 200


def test_a_webhook_with_a_bad_or_missing_signature_is_401_and_stores_nothing(
        shop: Shop) -> None:
    now = str(int(time.time()))
    other = orjson.dumps({"external_id": "W-2", "email": "eve@example.com",
                          "product": "Course Pro", "amount_cents": 1, "currency": "USD"})
    unsigned_time = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), ORDER_BODY,
                                         hashlib.sha256).hexdigest()
    for signature in (None, "", "sha256=" + "0" * 64, signed(ORDER_BODY, now, "wrong-secret"),
                      signed(other, now), signed(ORDER_BODY, now).removeprefix("sha256="),
                      signed(ORDER_BODY, str(int(now) - 1)), unsigned_time):
        response = webhook(shop.server, ORDER_BODY, signature, now)
        assert response.status_code == 401, signature
        assert error_code(response) == "bad_signature"
    assert shop.rows("SELECT COUNT(*) FROM orders") == [(0,)]
    assert shop.rows("SELECT COUNT(*) FROM customers") == [(0,)]


def test_a_webhook_without_a_fresh_timestamp_is_401_and_stores_nothing(shop: Shop) -> None:
    now = int(time.time())
    for timestamp in (None, "", "soon", f"{now}.5", "-1", f"+{now}", "1e9",
                      str(now - 400), str(now + 400)):  # 5 minutes is the limit either way
        signature = signed(ORDER_BODY, timestamp or "")
        response = webhook(shop.server, ORDER_BODY, signature, timestamp)
        assert response.status_code == 401, timestamp
        assert error_code(response) == "bad_timestamp"
    assert shop.rows("SELECT COUNT(*) FROM orders") == [(0,)]


def test_a_replayed_or_older_webhook_changes_nothing(shop: Shop) -> None:
    first, corrected = order_body(4900), order_body(3900)
    assert send(shop.server, first, age=20).status_code == 201
    fixed = str(int(time.time()) - 10)
    assert webhook(shop.server, corrected, signed(corrected, fixed), fixed).status_code == 200
    for raw, age in ((first, 20), (order_body(2900), 15)):  # captured earlier, or just late
        late = str(int(time.time()) - age)
        response = webhook(shop.server, raw, signed(raw, late), late)
        assert (response.status_code, response.json()) == (200, {"ignored": True})
    replay = webhook(shop.server, corrected, signed(corrected, fixed), fixed)  # exactly
    assert (replay.status_code, replay.json()) == (200, {"ignored": True})
    assert shop.rows("SELECT amount_cents FROM orders") == [(3900,)]
    newer = order_body(3500)  # the same second as the last one applied, another body
    assert webhook(shop.server, newer, signed(newer, fixed), fixed).status_code == 200
    assert send(shop.server, order_body(2500, "W-2"), age=60).status_code == 201  # its own
    assert shop.rows("SELECT external_id, amount_cents FROM orders ORDER BY id") == [
        ("W-1", 3500), ("W-2", 2500)]


def test_a_correctly_signed_but_invalid_order_is_422(shop: Shop) -> None:
    raw = orjson.dumps({"external_id": "W-1", "email": "maya@example.com",
                        "product": "Course Pro", "amount_cents": 19.99, "currency": "USD"})
    response = send(shop.server, raw)
    assert response.status_code == 422 and "amount_cents" in response.json()["error"]["message"]
    assert shop.rows("SELECT COUNT(*) FROM orders") == [(0,)]


def test_without_a_webhook_secret_every_webhook_is_401(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(webhook_secret=None)
    now = str(int(time.time()))
    for signature in (signed(ORDER_BODY, now, ""), signed(ORDER_BODY, now), None):
        assert webhook(server, ORDER_BODY, signature, now).status_code == 401
    assert query(server.settings.database_url, "SELECT COUNT(*) FROM orders") == [(0,)]


# --- refunds: the check order ------------------------------------------------------------

def test_a_refund_without_an_idempotency_key_is_422_before_anything_else(shop: Shop) -> None:
    order = shop.system.order("1042")
    for path, body in ((f"/api/orders/{order['id']}/refunds", {"amount_cents": 100,
                                                                "reason": "x"}),
                       ("/api/orders/999/refunds", {"amount_cents": 100, "reason": "x"}),
                       ("/api/orders/999/refunds", {"amount_cents": 1.5}),
                       ("/api/customers/999/credits", {"amount_cents": 100, "reason": "x",
                                                       "currency": "USD"})):
        response = shop.ann.post(path, body)
        assert response.status_code == 422, (path, response.text)
        assert error_code(response) == "idempotency_key_required"
    for key in ("", "k" * 256):
        bad_key = shop.ann.post(f"/api/orders/{order['id']}/refunds",
                                {"amount_cents": 100, "reason": "x"}, key=key)
        assert bad_key.status_code == 422 and error_code(bad_key) == "idempotency_key_required"
    unauthorized = shop.api(None).post("/api/orders/999/refunds", {})
    assert unauthorized.status_code == 401  # who is asking comes first of all
    assert ledger_count(shop) == 0


INVALID_REFUNDS: list[dict[str, Any]] = [
    {"reason": "missing amount"},
    {"amount_cents": 19.99, "reason": "a float"},
    {"amount_cents": 0, "reason": "nothing"},
    {"amount_cents": -100, "reason": "negative"},
    {"amount_cents": "100", "reason": "a string"},
    {"amount_cents": 100},
    {"amount_cents": 100, "reason": ""},
    {"amount_cents": 100, "reason": "x", "conversation_id": "one"},
]


def test_an_invalid_refund_body_is_422_even_for_an_unknown_order(shop: Shop) -> None:
    for body in INVALID_REFUNDS:
        response = shop.ann.post("/api/orders/999/refunds", body, key="k-1")
        assert response.status_code == 422, (body, response.text)
        assert error_code(response) == "invalid"
    response = shop.ann.post("/api/orders/999/refunds", content=b"amount=5", key="k-1")
    assert response.status_code == 422 and error_code(response) == "invalid"


def test_a_refund_of_an_unknown_order_or_conversation_is_404(shop: Shop) -> None:
    for path in ("/api/orders/999/refunds", "/api/orders/abc/refunds"):
        response = shop.ann.post(path, {"amount_cents": 100, "reason": "x"}, key="k-1")
        assert response.status_code == 404, path
        assert error_code(response) == "not_found"
    order = shop.system.order("1042")
    response = shop.ann.refund(order["id"], 100, conversation_id=999)
    assert response.status_code == 404 and error_code(response) == "not_found"


async def test_an_agent_without_a_verified_purchase_is_refused_and_nothing_is_posted(
        shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    chat = await open_chat(shop, name="Maya", email="maya@example.com")
    for more in ({}, {"conversation_id": chat.conversation_id}):
        for amount in (100, 999999):  # not verified comes before more than refundable
            response = shop.ann.refund(order["id"], amount, **more)
            assert response.status_code == 403, response.text
            assert error_code(response) == "not_verified"
    assert ledger_count(shop) == 0
    assert shop.rows("SELECT COUNT(*) FROM approvals") == [(0,)]
    assert shop.ann.refundable(order) == 20000


async def test_more_than_the_refundable_amount_is_409_even_over_the_agents_limit(
        shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    chat = await chat_with_verified_purchase(shop, order)
    response = shop.ann.refund(order["id"], 20001, conversation_id=chat.conversation_id)
    assert response.status_code == 409, response.text
    assert error_code(response) == "over_refundable"
    assert ledger_count(shop) == 0
    assert shop.rows("SELECT COUNT(*) FROM approvals") == [(0,)]


async def test_no_one_gives_money_in_another_customers_chat(shop: Shop) -> None:
    mayas = shop.system.order("1042", email="maya@example.com")
    lees = shop.system.order("2001", email="lee@example.com", product="Ebook")
    lee_chat = await chat_with_verified_purchase(shop, lees)  # Lee's chat, Lee's purchase
    for who in (shop.sue, shop.ada):  # roles with no need to verify
        refund = who.refund(mayas["id"], 500, conversation_id=lee_chat.conversation_id)
        credit = who.credit(mayas["customer_id"], 300,
                            conversation_id=lee_chat.conversation_id)
        for refused in (refund, credit):
            assert refused.status_code == 422, refused.text
            assert "not this customer's" in refused.json()["error"]["message"]
    assert ledger_count(shop) == 0 and shop.rows("SELECT COUNT(*) FROM approvals") == [(0,)]
    told = [f["text"] for f in await lee_chat.visitor.quiet(0.3)
            if f["type"] == "message" and f["author"]["role"] == "system"]
    assert not [t for t in told if "refund" in t or "credit" in t]  # nothing of Maya's money
    assert shop.ada.refund(lees["id"], 500,
                           conversation_id=lee_chat.conversation_id).status_code == 201


async def test_an_agent_refunds_a_verified_purchase_and_the_visitor_is_told(
        shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    chat = await chat_with_verified_purchase(shop, order, email="MAYA@example.COM")
    response = shop.ann.refund(order["id"], 3000, conversation_id=chat.conversation_id)
    assert response.status_code == 201, response.text
    refund = response.json()["refund"]
    assert refund["amount_cents"] == 3000 and refund["currency"] == "USD"
    assert refund["order_id"] == order["id"] and refund["order_external_id"] == "1042"
    assert refund["conversation_id"] == chat.conversation_id
    assert refund["agent"]["name"] == "Ann" and refund["approval_id"] is None
    notice = await chat.visitor.expect(
        "message", text="A refund of 30.00 USD for order 1042 has been issued.")
    assert notice["author"]["role"] == "system"
    assert notice["conversation_id"] == chat.conversation_id
    assert shop.ann.refundable(order) == 17000
    assert shop.rows("SELECT id, amount_cents, order_id FROM ledger") == [
        (refund["id"], 3000, order["id"])]
    customer = shop.ann.customer(order["customer_id"])
    assert chat.conversation_id in [c["id"] for c in customer["conversations"]]
    assert {"order.verified", "refund.issued"} <= {a["action"] for a in customer["audit"]}


async def test_the_agents_limit_counts_everything_given_in_the_conversation(
        shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    chat = await chat_with_verified_purchase(shop, order)
    first = shop.ann.refund(order["id"], 3000, conversation_id=chat.conversation_id)
    assert first.status_code == 201, first.text
    second = shop.ann.refund(order["id"], 2500, conversation_id=chat.conversation_id)
    assert second.status_code == 202, second.text  # 30.00 + 25.00 is over 50.00
    assert any("limit" in why for why in second.json()["approval"]["why"])
    assert ledger_count(shop) == 1


async def test_over_the_agents_limit_waits_for_a_supervisor_and_reserves_the_amount(
        shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    chat = await chat_with_verified_purchase(shop, order)
    response = shop.ann.refund(order["id"], 6000, conversation_id=chat.conversation_id)
    assert response.status_code == 202, response.text
    approval = response.json()["approval"]
    assert approval["status"] == "pending" and approval["amount_cents"] == 6000
    assert any("limit" in why for why in approval["why"])
    assert ledger_count(shop) == 0
    assert shop.ann.refundable(order) == 14000
    waiting = shop.sue.get("/api/approvals", status="pending").json()["approvals"]
    assert [a["id"] for a in waiting] == [approval["id"]]
    # the reservation counts against what is left: 14000 may go, 14001 may not
    assert shop.ada.refund(order["id"], 14001).status_code == 409

    refused = shop.ann.post(f"/api/approvals/{approval['id']}/approve")
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    approved = shop.sue.post(f"/api/approvals/{approval['id']}/approve",
                             {"note": "long-time customer"})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["approval"]["status"] == "approved"
    assert body["approval"]["decided_by"]["name"] == "Sue"
    assert body["refund"]["approval_id"] == approval["id"]
    assert body["refund"]["amount_cents"] == 6000
    assert shop.rows("SELECT amount_cents, approval_id FROM ledger") == [(6000, approval["id"])]
    notice = await chat.visitor.expect(
        "message", text="A refund of 60.00 USD for order 1042 has been issued.")
    assert notice["author"]["role"] == "system"
    assert shop.ann.refundable(order) == 14000

    twice = shop.sue.post(f"/api/approvals/{approval['id']}/approve")
    assert twice.status_code == 409 and error_code(twice) == "conflict"
    assert shop.sue.post(f"/api/approvals/{approval['id']}/reject").status_code == 409
    assert ledger_count(shop) == 1


async def test_rejecting_an_approval_frees_its_reservation(shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    chat = await chat_with_verified_purchase(shop, order)
    approval = shop.ann.refund(order["id"], 6000,
                               conversation_id=chat.conversation_id).json()["approval"]
    assert shop.ann.refundable(order) == 14000
    refused = shop.ann.post(f"/api/approvals/{approval['id']}/reject")
    assert refused.status_code == 403
    rejected = shop.sue.post(f"/api/approvals/{approval['id']}/reject", {"note": "no"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["approval"]["status"] == "rejected"
    assert rejected.json()["approval"]["note"] == "no"
    assert shop.ann.refundable(order) == 20000
    assert ledger_count(shop) == 0
    assert shop.sue.post(f"/api/approvals/{approval['id']}/approve").status_code == 409
    assert shop.sue.post("/api/approvals/999/approve").status_code == 404
    frames = await chat.visitor.quiet(0.3)
    assert not any("has been issued" in str(f.get("text", "")) for f in frames)


def test_a_supervisor_cannot_approve_over_their_own_limit_but_an_admin_can(
        shop: Shop) -> None:
    [val] = staff(shop.server, ("val@example.com", "supervisor"))
    order = shop.system.order("1042", amount=100000)
    response = shop.sue.refund(order["id"], 60000)  # over the supervisor's 500.00
    assert response.status_code == 202, response.text
    approval = response.json()["approval"]
    over = shop.api(val).post(f"/api/approvals/{approval['id']}/approve")
    assert over.status_code == 403 and error_code(over) == "over_approval_limit"
    assert shop.ada.post(f"/api/approvals/{approval['id']}/approve").status_code == 200
    assert shop.rows("SELECT amount_cents FROM ledger") == [(60000,)]


async def test_a_supervisors_approval_counts_what_the_conversation_was_already_given(
        shop: Shop) -> None:
    order = shop.system.order("1042", amount=100000)
    chat = await chat_with_verified_purchase(shop, order)
    given = shop.ada.refund(order["id"], 45000, conversation_id=chat.conversation_id)
    assert given.status_code == 201, given.text
    approval = shop.ann.refund(order["id"], 6000,
                               conversation_id=chat.conversation_id).json()["approval"]
    over = shop.sue.post(f"/api/approvals/{approval['id']}/approve")  # 510.00 in this chat
    assert over.status_code == 403 and error_code(over) == "over_approval_limit"
    assert shop.rows("SELECT amount_cents FROM ledger ORDER BY id") == [(45000,)]
    assert shop.ada.post(f"/api/approvals/{approval['id']}/approve").status_code == 200
    assert shop.rows("SELECT amount_cents FROM ledger ORDER BY id") == [(45000,), (6000,)]


async def test_nobody_approves_their_own_request_but_may_withdraw_it(shop: Shop) -> None:
    order = shop.system.order("1042", amount=100000)
    chat = await chat_with_verified_purchase(shop, order)
    anns = shop.ann.refund(order["id"], 45000,
                           conversation_id=chat.conversation_id).json()["approval"]
    # over Sue's limit while Ann's request is waiting: Sue's own refund waits too
    response = shop.sue.refund(order["id"], 6000, conversation_id=chat.conversation_id)
    assert response.status_code == 202, response.text
    sues = response.json()["approval"]
    assert shop.ada.post(f"/api/approvals/{anns['id']}/reject").status_code == 200
    own = shop.sue.post(f"/api/approvals/{sues['id']}/approve")  # now within her limit
    assert own.status_code == 403 and error_code(own) == "own_request"
    assert ledger_count(shop) == 0
    assert shop.ada.post(f"/api/approvals/{sues['id']}/approve").status_code == 200
    assert shop.rows("SELECT amount_cents, agent_id FROM ledger") == [
        (6000, shop.rows("SELECT id FROM agents WHERE email = 'ada@example.com'")[0][0])]
    withdrawn = shop.sue.refund(order["id"], 60000)
    assert withdrawn.status_code == 202, withdrawn.text
    assert shop.sue.post(
        f"/api/approvals/{withdrawn.json()['approval']['id']}/reject").status_code == 200


async def test_a_pending_approval_keeps_the_order_from_going_below_it(shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    chat = await chat_with_verified_purchase(shop, order)
    approval = shop.ann.refund(order["id"], 6000,
                               conversation_id=chat.conversation_id).json()["approval"]
    corrected = shop.system.post("/api/orders", {  # the shop corrects the order meanwhile
        "external_id": "1042", "email": "maya@example.com", "product": "Course Pro",
        "amount_cents": 5000, "currency": "USD"})
    assert corrected.status_code == 409 and error_code(corrected) == "amount_below_refunded"
    pending = shop.sue.get("/api/approvals", status="pending").json()["approvals"]
    assert [a["id"] for a in pending] == [approval["id"]]
    assert shop.sue.post(f"/api/approvals/{approval['id']}/approve").status_code == 200
    assert shop.rows("SELECT amount_cents FROM ledger") == [(6000,)]


# --- idempotency -------------------------------------------------------------------------

def test_the_same_key_and_body_replays_the_first_refund_and_posts_nothing(shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    first = shop.ada.refund(order["id"], 2500, key="refund-1042-a")
    assert first.status_code == 201
    for _ in range(2):
        again = shop.ada.refund(order["id"], 2500, key="refund-1042-a")
        assert again.status_code == 201
        assert again.json() == first.json()
    assert ledger_count(shop) == 1
    assert shop.ada.refundable(order) == 17500


def test_the_same_key_with_another_body_is_422_idempotency_mismatch(shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    assert shop.ada.refund(order["id"], 2500, key="k").status_code == 201
    for change in ({"amount_cents": 2600}, {"reason": "another reason"}):
        response = shop.ada.post(f"/api/orders/{order['id']}/refunds",
                                 {"amount_cents": 2500, "reason": "course did not load",
                                  **change}, key="k")
        assert response.status_code == 422, response.text
        assert error_code(response) == "idempotency_mismatch"
    assert ledger_count(shop) == 1



def test_a_refused_refund_is_refused_again_for_the_same_key_after_the_order_grew(
        shop: Shop) -> None:
    order = shop.system.order("1042", amount=1000)
    first = shop.ada.refund(order["id"], 1500, key="too-much")
    assert (first.status_code, error_code(first)) == (409, "over_refundable"), first.text
    shop.system.order("1042", amount=2000)
    again = shop.ada.refund(order["id"], 1500, key="too-much")
    assert (again.status_code, again.json()) == (409, first.json())
    other = shop.ada.refund(order["id"], 1000, key="too-much")
    assert (other.status_code, error_code(other)) == (422, "idempotency_mismatch")
    assert ledger_count(shop) == 0 and shop.ada.refundable(order) == 2000

def test_a_key_is_scoped_to_its_path_and_its_token(shop: Shop) -> None:
    first = shop.system.order("1042", amount=20000)
    second = shop.system.order("1043", amount=20000)
    other_token = staff(shop.server, ("val@example.com", "admin"))[0]
    val = shop.api(other_token)
    responses = [shop.ada.refund(first["id"], 1000, key="same"),
                 shop.ada.refund(second["id"], 1000, key="same"),  # another path
                 val.refund(first["id"], 1000, key="same"),  # another token
                 shop.ada.credit(first["customer_id"], 1000, key="same")]  # another path
    assert [r.status_code for r in responses] == [201, 201, 201, 201]
    ids = {r.json().get("refund", r.json().get("credit"))["id"] for r in responses}
    assert len(ids) == 4
    assert ledger_count(shop) == 4


async def test_a_replayed_key_that_asked_for_approval_asks_only_once(shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    chat = await chat_with_verified_purchase(shop, order)
    responses = [shop.ann.refund(order["id"], 6000, key="big",
                                 conversation_id=chat.conversation_id) for _ in range(2)]
    assert [r.status_code for r in responses] == [202, 202]
    assert responses[0].json() == responses[1].json()
    assert shop.rows("SELECT COUNT(*) FROM approvals") == [(1,)]
    assert shop.ann.refundable(order) == 14000


# --- verification: what an agent may rely on --------------------------------------------

async def test_a_typed_email_never_gets_that_customers_orders_refunded(shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    owner, _ = await visitor(shop.server, identity=identity("u-maya", "maya@example.com"))
    await owner.send("message", client_id="o-1", text="my card ends 4242")
    owner_conversation = (await owner.expect("ack"))["conversation_id"]
    await owner.send("close")
    await owner.expect("status", status="closed")

    chat = await open_chat(shop, name="Maya", email="maya@example.com")
    welcome_of_intruder = chat.visitor.seen[0]
    assert welcome_of_intruder["type"] == "welcome"
    assert welcome_of_intruder["conversation"] is None
    assert welcome_of_intruder["messages"] == []
    assert chat.conversation_id != owner_conversation
    assert shop.rows("SELECT verified FROM visitors WHERE id = ?",
                     welcome_of_intruder["visitor_id"]) == [(0,)]

    wrong = shop.ann.post(f"/api/conversations/{chat.conversation_id}/verify",
                          {"order": "1042", "email": "someone@example.com"})
    assert wrong.status_code == 404 and error_code(wrong) == "no_match"
    # linking the chat to the customer by hand verifies nothing
    linked = shop.ann.post(f"/api/conversations/{chat.conversation_id}/customer",
                           {"customer_id": order["customer_id"]})
    assert linked.status_code == 200, linked.text
    refund = shop.ann.refund(order["id"], 1000, conversation_id=chat.conversation_id)
    assert refund.status_code == 403 and error_code(refund) == "not_verified"
    credit = shop.ann.credit(order["customer_id"], 1000, conversation_id=chat.conversation_id)
    assert credit.status_code == 403 and error_code(credit) == "not_verified"
    assert ledger_count(shop) == 0
    texts = [str(f.get("text")) for f in await chat.visitor.quiet(0.3)]
    assert not any("4242" in t or "refund of" in t for t in texts)


async def test_a_verified_identity_lets_an_agent_refund_that_customers_order(
        shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    chat = await open_chat(shop, identity=identity("u-maya", "maya@example.com"))
    response = shop.ann.refund(order["id"], 2000, conversation_id=chat.conversation_id)
    assert response.status_code == 201, response.text
    await chat.visitor.expect("message",
                              text="A refund of 20.00 USD for order 1042 has been issued.")
    # the identity is Maya's, not Lee's: Lee's order stays out of reach
    lees = shop.system.order("2001", email="lee@example.com")
    other = shop.ann.refund(lees["id"], 100, conversation_id=chat.conversation_id)
    assert other.status_code == 403 and error_code(other) == "not_verified"


async def test_an_identity_and_an_order_of_one_person_merge_into_one_customer(
        shop: Shop) -> None:
    """The shop's user signed in with an old email, then bought with a new one and signs in
    with it: one customer, whichever id the integrator kept."""
    old, _ = await visitor(shop.server, identity=identity("u-maya", "maya@old.example.com"))
    [before] = shop.ann.get("/api/customers", email="maya@old.example.com").json()["customers"]
    order = shop.system.order("1042", email="maya@new.example.com", amount=20000)
    assert order["customer_id"] != before["id"]
    chat = await open_chat(shop, identity=identity("u-maya", "maya@new.example.com"))
    merged = shop.ann.customer(order["customer_id"])  # the merged-away id still answers
    assert merged["id"] == before["id"] and merged["external_user_id"] == "u-maya"
    assert [o["external_id"] for o in merged["orders"]] == ["1042"]
    assert chat.conversation_id in [c["id"] for c in merged["conversations"]]
    found = shop.ann.get("/api/customers", email="maya@new.example.com").json()["customers"]
    assert [c["id"] for c in found] == [before["id"]]
    response = shop.ann.refund(order["id"], 2000, conversation_id=chat.conversation_id)
    assert response.status_code == 201, response.text
    assert response.json()["refund"]["customer_id"] == before["id"]
    await old.close()


async def test_an_agent_may_not_verify_in_a_chat_that_is_not_theirs(shop: Shop) -> None:
    order = shop.system.order("1042")
    chat = await open_chat(shop, name="Maya")
    bob = shop.api(staff(shop.server, ("bob@example.com", "agent"))[0])
    response = bob.post(f"/api/conversations/{chat.conversation_id}/verify",
                        {"order": "1042", "email": order["email"]})
    assert response.status_code == 403
    assert shop.rows("SELECT COUNT(*) FROM verifications") == [(0,)]


async def test_a_verified_purchase_links_the_chat_to_the_buyer_not_a_typed_email(
        shop: Shop) -> None:
    """A typed email links the chat to that customer only as a guess; once the agent verifies
    a purchase, the chat belongs to the verified buyer."""
    mayas = shop.system.order("1042", email="maya@example.com")
    lees = shop.system.order("2001", email="lee@example.com", product="Ebook")
    chat = await open_chat(shop, name="Lee", email="maya@example.com")  # a mistyped email
    verified = shop.ann.post(f"/api/conversations/{chat.conversation_id}/verify",
                             {"order": "2001", "email": "lee@example.com"})
    assert verified.status_code == 200, verified.text
    lee = shop.ann.customer(lees["customer_id"])
    assert chat.conversation_id in [c["id"] for c in lee["conversations"]]
    maya = shop.ann.customer(mayas["customer_id"])
    assert chat.conversation_id not in [c["id"] for c in maya["conversations"]]


def listed(api: Api, view: str, **params: str) -> list[dict[str, Any]]:
    response = api.get("/api/conversations", view=view, **params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["conversations"]
    return found


async def test_a_verified_purchase_names_the_visitor_after_the_buyer_in_this_and_later_chats(
        shop: Shop) -> None:
    order = shop.system.order("1042", name="Maya Lin")
    chat = await open_chat(shop)  # an anonymous visitor
    verified = shop.ann.post(f"/api/conversations/{chat.conversation_id}/verify",
                             {"order": "1042", "email": "maya@example.com"})
    assert verified.status_code == 200, verified.text
    told = await chat.agent.expect("customer", conversation_id=chat.conversation_id)
    assert told["customer_id"] == order["customer_id"]
    assert told["visitor"]["name"] == "Maya Lin"
    assert (told["visitor"]["verified_by"], told["visitor"]["verified"]) == ("purchase", False)
    [row] = listed(shop.ann, "mine")
    assert (row["visitor"]["name"], row["visitor"]["verified_by"]) == ("Maya Lin", "purchase")
    assert [c["id"] for c in listed(shop.ann, "all", q="lin")] == [chat.conversation_id]

    # the same visitor's next chat is the buyer's from the start
    await chat.agent.send("close", conversation_id=chat.conversation_id)
    await chat.agent.send("presence", status="away")
    await chat.agent.send("ping")
    await chat.agent.expect("pong")
    await chat.visitor.send("message", client_id="v-2", text="One more thing")
    later = (await chat.visitor.expect("ack", client_id="v-2"))["conversation_id"]
    queue = await chat.agent.expect("queue")
    while not queue["conversations"]:
        queue = await chat.agent.expect("queue")
    assert [(q["id"], q["visitor"]["name"]) for q in queue["conversations"]] == [
        (later, "Maya Lin")]
    await chat.agent.send("presence", status="available")
    assigned = (await chat.agent.expect("assigned"))["conversation"]
    assert (assigned["id"], assigned["customer_id"]) == (later, order["customer_id"])
    assert (assigned["visitor"]["name"], assigned["visitor"]["verified_by"]) == (
        "Maya Lin", "purchase")
    assert [c["id"] for c in listed(shop.ann, "all", q="Maya")] == [later, chat.conversation_id]


async def test_a_signed_identity_stays_apart_from_a_purchase_verified_later(
        shop: Shop) -> None:
    shop.system.order("2001", email="lee@example.com", name="Lee Chen", product="Ebook")
    chat = await open_chat(shop, identity=identity("u-maya", "maya@example.com"))
    verified = shop.ann.post(f"/api/conversations/{chat.conversation_id}/verify",
                             {"order": "2001", "email": "lee@example.com"})  # a gift, say
    assert verified.status_code == 200, verified.text
    [row] = listed(shop.ann, "mine")
    assert (row["visitor"]["name"], row["visitor"]["verified"],
            row["visitor"]["verified_by"]) == ("Maya", True, "identity")


async def test_a_typed_email_names_no_one_and_finds_no_one(shop: Shop) -> None:
    shop.system.order("1042", name="Maya Lin")
    await open_chat(shop, name="Mallory", email="maya@example.com")
    [row] = listed(shop.ann, "mine")
    assert (row["visitor"]["name"], row["visitor"]["verified_by"]) == ("Mallory", None)
    assert listed(shop.ann, "all", q="Lin") == []


def sign_in(server: InProcessServer, email: str, password: str) -> httpx.Client:
    """A browser signed in to the console: its session cookie, and the page's CSRF token."""
    browser = httpx.Client(base_url=server.url, timeout=10)
    page = browser.get("/console/login")
    form_csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert form_csrf is not None
    browser.post("/console/login", data={"csrf": form_csrf.group(1), "email": email,
                                         "password": password})
    console = browser.get("/console")
    assert console.status_code == 200, console.text
    meta = re.search(r'name="csrf-token" content="([^"]+)"', console.text)
    assert meta is not None
    browser.headers["X-CSRF-Token-For-Test"] = meta.group(1)
    return browser


def test_the_console_session_refunds_only_with_its_csrf_token(shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    staff(shop.server, ("val@example.com", "admin"), password="pa55word")
    browser = sign_in(shop.server, "val@example.com", "pa55word")
    try:
        csrf = browser.headers.pop("X-CSRF-Token-For-Test")
        path = f"/api/orders/{order['id']}/refunds"
        body = {"amount_cents": 1000, "reason": "from the console"}
        for token in (None, "wrong"):
            headers = {"Idempotency-Key": "console-1"}
            if token is not None:
                headers["X-CSRF-Token"] = token
            refused = browser.post(path, json=body, headers=headers)
            assert refused.status_code == 403, refused.text
            assert error_code(refused) == "csrf"
        assert ledger_count(shop) == 0
        done = browser.post(path, json=body,
                            headers={"Idempotency-Key": "console-1", "X-CSRF-Token": csrf})
        assert done.status_code == 201, done.text
        assert done.json()["refund"]["agent"]["name"] == "Val"
        assert browser.get(f"/api/customers/{order['customer_id']}").status_code == 200
    finally:
        browser.close()
    assert ledger_count(shop) == 1


# --- credits -----------------------------------------------------------------------------

async def test_store_credit_within_the_agents_limit_for_a_verified_customer(
        shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000)
    customer_id = order["customer_id"]
    chat = await open_chat(shop, identity=identity("u-maya", "maya@example.com"))
    response = shop.ann.credit(customer_id, 2000, conversation_id=chat.conversation_id)
    assert response.status_code == 201, response.text
    credit = response.json()["credit"]
    assert credit["kind"] == "credit" and credit["amount_cents"] == 2000
    assert credit["currency"] == "USD" and credit["order_id"] is None
    await chat.visitor.expect(
        "message", text="20.00 USD of store credit has been added to your account.")
    assert shop.ann.customer(customer_id)["credit_balances"] == {"USD": 2000}

    over = shop.ann.credit(customer_id, 1000, conversation_id=chat.conversation_id)
    assert over.status_code == 202, over.text  # 20.00 + 10.00 is over 25.00
    assert over.json()["approval"]["status"] == "pending"
    assert over.json()["approval"]["kind"] == "credit"
    assert shop.ann.customer(customer_id)["credit_balances"] == {"USD": 2000}
    assert ledger_count(shop) == 1


async def test_credit_in_another_currency_than_the_orders_is_fine(shop: Shop) -> None:
    order = shop.system.order("1042", amount=20000, currency="USD")
    chat = await chat_with_verified_purchase(shop, order)
    future = "2999-01-01T00:00:00Z"
    response = shop.ann.credit(order["customer_id"], 1500, currency="eur",
                               conversation_id=chat.conversation_id, expires_at=future)
    assert response.status_code == 201, response.text
    assert response.json()["credit"]["currency"] == "EUR"
    assert response.json()["credit"]["expires_at"].startswith("2999-01-01T00:00:00")
    assert shop.ann.customer(order["customer_id"])["credit_balances"] == {"EUR": 1500}


INVALID_CREDITS: list[tuple[dict[str, Any], str]] = [
    ({"currency": "DOLLAR"}, "currency"),
    ({"currency": None}, "currency"),
    ({"amount_cents": 12.5}, "amount_cents"),
    ({"expires_at": "next week"}, "expires_at"),
    ({"expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
]


def test_an_invalid_credit_is_422_naming_the_field(shop: Shop) -> None:
    order = shop.system.order("1042")
    for change, field in INVALID_CREDITS:
        body = {"amount_cents": 1000, "currency": "USD", "reason": "sorry", **change}
        body = {k: v for k, v in body.items() if v is not None}
        response = shop.ada.post(f"/api/customers/{order['customer_id']}/credits", body,
                                 key="c")
        assert response.status_code == 422, (change, response.text)
        assert error_code(response) == "invalid"
        assert field in response.json()["error"]["message"], change
    assert ledger_count(shop) == 0


def test_credit_for_an_unknown_customer_is_404(shop: Shop) -> None:
    response = shop.ada.credit(999, 1000)
    assert response.status_code == 404 and error_code(response) == "not_found"


async def test_an_agent_needs_a_verified_customer_for_credit(shop: Shop) -> None:
    order = shop.system.order("1042")
    chat = await open_chat(shop, name="Maya", email="maya@example.com")
    for more in ({}, {"conversation_id": chat.conversation_id}):
        response = shop.ann.credit(order["customer_id"], 500, **more)
        assert response.status_code == 403 and error_code(response) == "not_verified"
    assert shop.sue.credit(order["customer_id"], 500).status_code == 201  # no chat needed


# --- risk --------------------------------------------------------------------------------

async def test_a_third_refund_in_90_days_by_an_agent_waits_for_a_supervisor(
        shop: Shop) -> None:
    order = shop.system.order("1042", amount=100000, product="Bundle")
    assert shop.ada.refund(order["id"], 100).status_code == 201
    assert shop.ada.refund(order["id"], 100).status_code == 201
    chat = await chat_with_verified_purchase(shop, order)
    response = shop.ann.refund(order["id"], 100, conversation_id=chat.conversation_id)
    assert response.status_code == 202, response.text
    why = response.json()["approval"]["why"]
    assert any("refund number 3" in reason for reason in why), why
    by_supervisor = shop.sue.refund(order["id"], 100, conversation_id=chat.conversation_id)
    assert by_supervisor.status_code == 201, by_supervisor.text
    figures = shop.sue.customer(order["customer_id"])["refund_figures"]
    assert figures["refunds_90d"] == 3


async def test_a_refund_taking_the_refund_rate_over_half_waits_for_a_supervisor(
        shop: Shop) -> None:
    order = shop.system.order("1042", amount=4000)
    chat = await chat_with_verified_purchase(shop, order)
    response = shop.ann.refund(order["id"], 2500, conversation_id=chat.conversation_id)
    assert response.status_code == 202, response.text
    assert any("refund rate" in reason for reason in response.json()["approval"]["why"])
    assert shop.sue.refund(order["id"], 1000).status_code == 201


# --- roles -------------------------------------------------------------------------------

def test_only_a_supervisor_or_an_admin_decides_approvals(shop: Shop) -> None:
    order = shop.system.order("1042", amount=200000)
    approvals = [shop.sue.refund(order["id"], 60000).json()["approval"] for _ in range(3)]
    for action in ("approve", "reject"):
        refused = shop.ann.post(f"/api/approvals/{approvals[0]['id']}/{action}")
        assert refused.status_code == 403 and error_code(refused) == "forbidden"
        assert shop.api(None).post(
            f"/api/approvals/{approvals[0]['id']}/{action}").status_code == 401
    assert shop.sue.post(f"/api/approvals/{approvals[0]['id']}/reject").status_code == 200
    assert shop.ada.post(f"/api/approvals/{approvals[1]['id']}/reject").status_code == 200
    assert shop.ada.post(f"/api/approvals/{approvals[2]['id']}/approve").status_code == 200
    statuses = shop.rows("SELECT status FROM approvals ORDER BY id")
    assert statuses == [("rejected",), ("rejected",), ("approved",)]
