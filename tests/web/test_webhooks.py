"""Outgoing webhooks against a real server and a real receiver: every event arrives signed
as Standard Webhooks says (checked here with the algorithm written out again), a failing
receiver gets the same delivery again, a hanging one slows no chat, and an admin alone sets
endpoints, which may not name private addresses unless allowed."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from chatserver.domain.webhooks import EVENTS
from chatserver.service import supervision
from chatserver.service import webhooks as webhooks_service
from tests.conftest import Clock
from tests.web.conftest import InProcessServer, agent
from tests.web.receiver import Received, receiver
from tests.web.test_commerce_api import Api, staff
from tests.web.test_console_api import say, served_by, start_chat


def verified(secret: str, request: Received) -> dict[str, Any]:
    """The event, once its signature is checked as a receiver following Standard Webhooks
    would check it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = (f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}."
              .encode() + request.body)
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in request.headers["webhook-signature"].split(" ")
    return request.event


class Admin(Api):
    def endpoint(self, url: str, events: list[str] | tuple[str, ...] = EVENTS
                 ) -> dict[str, Any]:
        response = self.post("/api/webhook-endpoints", {"url": url, "events": list(events)})
        assert response.status_code == 201, response.text
        found: dict[str, Any] = response.json()["endpoint"]
        return found

    def deliveries(self) -> list[dict[str, Any]]:
        [endpoint] = self.get("/api/webhook-endpoints").json()["endpoints"]
        found: list[dict[str, Any]] = endpoint["deliveries"]
        return found

    async def delivery_once(self, settled: Callable[[dict[str, Any]], bool]
                            ) -> dict[str, Any]:
        """The one delivery, once `settled` holds of it (the receiver has a post a moment
        before the server has kept its answer)."""
        deadline = time.monotonic() + 5
        while not settled(found := self.deliveries()[0]):
            assert time.monotonic() < deadline, found
            await asyncio.sleep(0.02)
        return found


@pytest.fixture
def allowed(serve: Callable[..., InProcessServer]) -> Iterator[tuple[InProcessServer, Admin,
                                                                    Api]]:
    """A server that may post to this machine (the receiver), its admin and an agent."""
    server = serve(webhooks_allow_private=True)
    ada, ann = staff(server, ("ada@example.com", "admin"), ("ann@example.com", "agent"))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield server, Admin(server, ada, client), Api(server, ann, client)


def due_soon() -> str:
    return (datetime.now(UTC) + timedelta(seconds=0.3)).isoformat().replace("+00:00", "Z")


async def test_each_event_arrives_signed_with_the_object_as_the_api_shows_it(
        allowed: tuple[InProcessServer, Admin, Api], store_clock: Clock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervision, "WATCH_EVERY", 0.1)
    server, ada, ann = allowed
    with receiver() as shop:
        endpoint = ada.endpoint(shop.url)
        assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == list(EVENTS)
        ann_socket = await agent(server, ann.token or "")
        peer, conversation_id = await start_chat(server, "where is my order?", name="Maya")
        assert await served_by(peer) == "Ann"
        await say(ann_socket, conversation_id, "let me look", private=False)
        await say(ann_socket, conversation_id, "a note nobody outside sees", private=True)
        assert ann.post(f"/api/conversations/{conversation_id}/follow-ups",
                        {"due_at": due_soon(), "note": "call back"}).status_code == 201
        await ann_socket.send("close", conversation_id=conversation_id)
        await peer.expect("status", status="closed")
        await peer.send("rate", score=5, comment="quick")
        order = ada.order("1042")["order"]
        assert ada.refund(order["id"], 500).status_code == 201
        assert ada.credit(order["customer_id"], 300).status_code == 201
        got = await shop.wait_for(12)
    events = [verified(endpoint["secret"], request) for request in got]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event)
    assert set(by_type) == set(EVENTS) - {"refund.updated"}
    texts = [e["data"]["text"] for e in by_type["message.created"]]
    assert "where is my order?" in texts and "let me look" in texts
    assert "a note nobody outside sees" not in texts
    assert by_type["conversation.created"][0]["data"]["id"] == conversation_id
    assert by_type["conversation.assigned"][0]["data"]["agent"] == {"name": "Ann"}
    assert by_type["conversation.closed"][0]["data"]["status"] == "closed"
    assert by_type["refund.created"][0]["data"]["amount_cents"] == 500
    assert by_type["credit.created"][0]["data"]["amount_cents"] == 300
    assert by_type["follow_up.due"][0]["data"]["note"] == "call back"
    assert {int(r.headers["webhook-timestamp"]) for r in got} == {int(store_clock.at)}
    assert len({r.headers["webhook-id"] for r in got}) == len(got)


async def test_a_failing_receiver_gets_the_same_delivery_again_until_it_takes_it(
        allowed: tuple[InProcessServer, Admin, Api], store_clock: Clock) -> None:
    server, ada, _ann = allowed
    with receiver(failing=1) as shop:
        ada.endpoint(shop.url, ["conversation.created"])
        await start_chat(server, "hello")
        [first] = await shop.wait_for(1)
        tried = await ada.delivery_once(lambda d: d["answer_status"] is not None)
        assert (tried["status"], tried["attempts"], tried["answer_status"],
                tried["answer_excerpt"]) == ("pending", 1, 500, "try later")
        store_clock.at += 30  # the first retry is due within 30 s
        second = (await shop.wait_for(2))[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.body == first.body
    done = await ada.delivery_once(lambda d: d["status"] == "delivered")
    assert (done["status"], done["attempts"], done["answer_status"]) == ("delivered", 2, 200)


async def test_a_delivery_is_resent_on_request_with_its_id(
        allowed: tuple[InProcessServer, Admin, Api]) -> None:
    server, ada, ann = allowed
    with receiver() as shop:
        ada.endpoint(shop.url, ["conversation.created"])
        await start_chat(server, "hello")
        [first] = await shop.wait_for(1)
        delivery = await ada.delivery_once(lambda d: d["status"] == "delivered")
        assert ann.post(f"/api/webhook-deliveries/{delivery['id']}/resend").status_code == 403
        resent = ada.post(f"/api/webhook-deliveries/{delivery['id']}/resend")
        assert resent.status_code == 202, resent.text
        [_, again] = await shop.wait_for(2)
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    assert ada.post("/api/webhook-deliveries/9999/resend").status_code == 404


async def test_a_hanging_receiver_does_not_slow_a_chat(
        allowed: tuple[InProcessServer, Admin, Api]) -> None:
    server, ada, _ann = allowed
    with receiver(hanging=True) as shop:
        ada.endpoint(shop.url, ["message.created"])
        peer, _ = await start_chat(server, "hello")
        await shop.wait_for(1)  # the sender is stuck on it
        started = time.monotonic()
        for n in range(10):  # (within the visitor's rate limit)
            client_id = uuid.uuid4().hex
            await peer.send("message", client_id=client_id, text=f"message {n}")
            await peer.expect("ack", client_id=client_id)
        assert time.monotonic() - started < 2.0
        await shop.wait_for(8)  # more posts under way at once, each its own


async def test_endpoints_are_for_admins_and_refuse_private_addresses(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve()
    tokens = staff(server, ("ada@example.com", "admin"), ("ann@example.com", "agent"))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        ada, ann = (Api(server, token, client) for token in tokens)
        check_endpoints(ada, ann)


def check_endpoints(ada: Api, ann: Api) -> None:
    good = {"url": "https://93.184.215.14/hooks", "events": ["message.created"]}
    assert ann.post("/api/webhook-endpoints", good).status_code == 403
    assert ann.get("/api/webhook-endpoints").status_code == 403
    for url in ("http://127.0.0.1:8080/hooks", "http://localhost/hooks",
                "http://10.0.0.7/", "http://169.254.169.254/latest", "http://[::1]/",
                "ftp://93.184.215.14/", "not a url"):
        response = ada.post("/api/webhook-endpoints", {**good, "url": url})
        assert response.status_code == 422, url
        assert response.json()["error"]["code"] == "invalid"
    unknown = ada.post("/api/webhook-endpoints", {**good, "events": ["message.sent"]})
    assert unknown.status_code == 422 and "message.sent" in unknown.json()["error"]["message"]
    created = ada.post("/api/webhook-endpoints", good)
    assert created.status_code == 201, created.text
    endpoint = created.json()["endpoint"]
    [listed] = ada.get("/api/webhook-endpoints").json()["endpoints"]
    assert listed == {"id": endpoint["id"], "url": good["url"], "events": good["events"],
                      "created_at": endpoint["created_at"], "deliveries": []}
    assert ann.client.delete(f"/api/webhook-endpoints/{endpoint['id']}",
                             headers=ann.headers()).status_code == 403
    assert ada.client.delete(f"/api/webhook-endpoints/{endpoint['id']}",
                             headers=ada.headers()).status_code == 204
    assert ada.client.delete(f"/api/webhook-endpoints/{endpoint['id']}",
                             headers=ada.headers()).status_code == 404
    assert ada.get("/api/webhook-endpoints").json()["endpoints"] == []


async def test_a_name_that_comes_to_name_a_private_address_is_not_posted_to(
        serve: Callable[..., InProcessServer], monkeypatch: pytest.MonkeyPatch) -> None:
    names = {"hooks.example": ["93.184.215.14"]}

    async def resolve(host: str, port: int) -> list[str]:
        return names[host]
    monkeypatch.setattr(webhooks_service, "resolve", resolve)
    server = serve()  # private addresses refused
    [token] = staff(server, ("ada@example.com", "admin"))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        ada = Admin(server, token, client)
        ada.endpoint("https://hooks.example/in", ["conversation.created"])
        names["hooks.example"] = ["93.184.215.14", "127.0.0.1"]  # rebound
        await start_chat(server, "hello")
        tried = await ada.delivery_once(lambda d: d["answer_excerpt"] is not None)
    assert (tried["status"], tried["answer_status"]) == ("pending", None)
    assert tried["answer_excerpt"] == ("not sent: hooks.example is a loopback, private or "
                                       "link-local address (127.0.0.1)")


async def test_of_a_huge_answer_only_its_start_is_read_and_kept(
        allowed: tuple[InProcessServer, Admin, Api]) -> None:
    server, ada, _ann = allowed
    with receiver(answer=b"ok " * 1_000_000) as shop:
        ada.endpoint(shop.url, ["conversation.created"])
        await start_chat(server, "hello")
        await shop.wait_for(1)
        done = await ada.delivery_once(lambda d: d["status"] == "delivered")
    assert done["answer_excerpt"] == ("ok " * 100)[:200]
