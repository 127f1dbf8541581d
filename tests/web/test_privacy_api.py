"""A customer's data exported or erased on request, over REST against a real server (on every
backend): what an admin answering "send me my data" or "delete my data" would notice, and
what the customer's open widget and the agents see afterwards."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.attachment_files import image
from tests.conftest import Clock
from tests.web.conftest import InProcessServer
from tests.web.test_agent_changes import close_code
from tests.web.test_attachments import kept, upload
from tests.web.test_commerce_api import (
    IDENTITY_SECRET,
    WEBHOOK_SECRET,
    Api,
    Chat,
    Shop,
    error_code,
    identity,
    open_chat,
    staff,
)
from tests.web.test_several_processes import eventually

PASSWORD = "a long enough password"
SAID = "please send it to Quokkaweg 12"


@pytest.fixture
def shop(serve: Callable[..., InProcessServer]) -> Iterator[Shop]:
    """test_commerce_api's shop, its staff able to sign in to the console (the admin page)."""
    server = serve(webhook_secret=WEBHOOK_SECRET, identity_secret=IDENTITY_SECRET)
    ann, sue, ada = staff(server, ("ann@example.com", "agent"), ("sue@example.com",
                          "supervisor"), ("ada@example.com", "admin"), password=PASSWORD)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield Shop(server, Api(server, ann, client), Api(server, sue, client),
                   Api(server, ada, client), Api(server, server.integration(), client))


async def maya_chats(shop: Shop) -> tuple[Chat, int]:
    """Maya, signed in on the shop, with an order, asks Ann something; Ann notes it."""
    order = shop.system.order("1042")
    chat = await open_chat(shop, identity=identity("u-7", "maya@example.com"))
    await chat.visitor.send("message", client_id="v-2", text=SAID)
    await chat.visitor.expect("ack", client_id="v-2")
    await chat.agent.send("message", conversation_id=chat.conversation_id, client_id="n-1",
                          text="Maya asked twice", private=True)
    await chat.agent.expect("ack", client_id="n-1")
    return chat, int(order["customer_id"])


async def closed(chat: Chat) -> None:
    await chat.agent.send("close", conversation_id=chat.conversation_id)
    await chat.visitor.expect("status", status="closed")


def erase(api: Api, customer_id: int, **body: Any) -> httpx.Response:
    return api.post(f"/api/customers/{customer_id}/erase", body)


async def test_an_admin_exports_everything_held_about_a_customer_as_a_json_file(
        shop: Shop) -> None:
    chat, maya = await maya_chats(shop)
    exported = shop.ada.get(f"/api/customers/{maya}/export")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="customer-{maya}-export.json"')
    document = exported.json()
    assert set(document) >= {"customer", "visitors", "conversations", "orders", "ledger",
                             "ratings", "follow_ups", "approvals", "audit"}
    assert document["customer"]["email"] == "maya@example.com"
    assert [v["email"] for v in document["visitors"]] == ["maya@example.com"]
    [conversation] = document["conversations"]
    assert conversation["id"] == chat.conversation_id
    texts = [(m["text"], m["private"]) for m in conversation["messages"]]
    assert (SAID, False) in texts and ("Maya asked twice", True) in texts
    assert [o["external_id"] for o in document["orders"]] == ["1042"]
    assert shop.ada.get(f"/api/customers/{maya}/export").json() == document  # deterministic


async def test_only_an_admin_exports_or_erases_and_an_unknown_customer_is_404(
        shop: Shop) -> None:
    _chat, maya = await maya_chats(shop)
    for caller in (shop.ann, shop.sue, shop.system):
        assert caller.get(f"/api/customers/{maya}/export").status_code == 403
        assert erase(caller, maya, reason="asked").status_code == 403
    assert shop.api(None).get(f"/api/customers/{maya}/export").status_code == 401
    for path in (f"/api/customers/{maya + 100}/export", "/api/customers/x/export"):
        missing = shop.ada.get(path)
        assert (missing.status_code, error_code(missing)) == (404, "not_found")
    assert erase(shop.ada, maya + 100, reason="asked").status_code == 404
    for body in ({}, {"reason": ""}, {"reason": 7}):
        refused = shop.ada.post(f"/api/customers/{maya}/erase", body)
        assert (refused.status_code, error_code(refused)) == (422, "invalid"), body


async def test_an_erase_closes_an_open_chat_then_leaves_no_trace_of_the_person(
        shop: Shop) -> None:
    chat, maya = await maya_chats(shop)
    done = erase(shop.ada, maya, reason="asked by email")
    assert done.status_code == 200, done.text
    assert done.json()["erased"]["conversations"] == [chat.conversation_id]
    # the chat was closed first, by the admin, as the visitor and its agent are told
    await chat.visitor.expect("status", status="closed")
    await chat.agent.expect("unassigned", conversation_id=chat.conversation_id)
    assert await close_code(chat.visitor) == 4002  # their widget is let go
    assert shop.ada.get(f"/api/conversations/{chat.conversation_id}").json()[
        "conversation"]["status"] == "closed"

    customer = shop.ada.customer(maya)
    assert (customer["email"], customer["name"]) == (None, None)
    assert [e["action"] for e in customer["audit"]][-1] == "customer.erased"
    assert customer["audit"][-1]["agent"] == "Ada"
    assert customer["audit"][-1]["detail"]["reason"] == "asked by email"
    assert [o["amount_cents"] for o in customer["orders"]] == [20000]
    transcript = shop.ada.get(f"/api/conversations/{chat.conversation_id}").json()
    assert {m["text"] for m in transcript["messages"]} == {"[erased]"}
    found = shop.ada.get("/api/conversations", view="all", q="Quokkaweg").json()
    assert found["conversations"] == []
    assert shop.system.get("/api/customers", email="maya@example.com").json() == {
        "customers": []}
    assert erase(shop.ada, maya, reason="asked again").status_code == 200  # harmless


async def test_a_server_with_a_retention_period_erases_the_chats_closed_before_it(
        shop: Shop, serve: Callable[..., InProcessServer], store_clock: Clock) -> None:
    chat, maya = await maya_chats(shop)
    await closed(chat)
    shop.server.stop()
    store_clock.at += 31 * 86400
    later = serve(webhook_secret=WEBHOOK_SECRET, identity_secret=IDENTITY_SECRET,
                  retention_days=30)
    with httpx.Client(base_url=later.url, timeout=10) as client:
        admin = Api(later, shop.ada.token, client)

        async def erased() -> bool:
            found = admin.get(f"/api/conversations/{chat.conversation_id}").json()
            return {m["text"] for m in found["messages"]} == {"[erased]"}
        await eventually(erased)
        assert admin.customer(maya)["email"] == "maya@example.com"  # only chats expire


async def test_a_sent_file_is_exported_by_its_facts_and_gone_after_an_erase(
        shop: Shop) -> None:
    chat, maya = await maya_chats(shop)
    token = next(f["token"] for f in chat.visitor.seen if f["type"] == "welcome")
    photo = kept(upload(shop.server, image("PNG"), "parcel.png", **{"X-Visitor-Token": token}))
    await chat.visitor.send("message", client_id="v-3", text="", attachment_id=photo["id"])
    await chat.visitor.expect("ack", client_id="v-3")
    url = (await chat.agent.expect("message", client_id="v-3"))["attachment"]["url"]
    [conversation] = shop.ada.get(f"/api/customers/{maya}/export").json()["conversations"]
    assert conversation["messages"][-1]["attachment"] == {
        "id": photo["id"], "name": "parcel.png", "content_type": "image/png",
        "size": photo["size"]}  # no url: a link kept in a file would expire
    archive = shop.ada.get(f"/api/customers/{maya}/export", format="zip")
    assert archive.headers["content-type"] == "application/zip"
    assert archive.headers["content-disposition"] == (
        f'attachment; filename="customer-{maya}-export.zip"')
    with zipfile.ZipFile(io.BytesIO(archive.content)) as files:
        assert sorted(files.namelist()) == [f"attachments/{photo['id']}-parcel.png",
                                            f"customer-{maya}-export.json"]
        assert files.read(f"attachments/{photo['id']}-parcel.png") == httpx.get(
            shop.server.url + url, timeout=5).content
        document = json.loads(files.read(f"customer-{maya}-export.json"))
        assert document["conversations"][0]["messages"][-1]["attachment"]["id"] == photo["id"]
    await closed(chat)

    assert erase(shop.ada, maya, reason="asked by email").status_code == 200
    assert httpx.get(shop.server.url + url, timeout=5).status_code == 404
    transcript = shop.ada.get(f"/api/conversations/{chat.conversation_id}").json()
    assert all("attachment" not in m for m in transcript["messages"])
