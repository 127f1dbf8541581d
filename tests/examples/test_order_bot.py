"""examples/order_bot.py end to end: a real server, the bot as its own process, a visitor and
a person on real sockets. The order's date is given, and the bot runs in a far time zone: it
must still say the day in UTC."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from chatserver.domain.identity import sign_identity
from tests.conftest import LiveServer, add_agent, integration_token, start_server
from tests.web.conftest import Peer

ROOT = Path(__file__).resolve().parent.parent.parent
BOT = "Order Bot"
IDENTITY_SECRET = "idsec-test"
ANSWER = "Order 1042 (Course Pro, 149.00 USD) was paid on Nov 14, 2026."


@dataclass
class Shop:
    server: LiveServer
    ann: Peer  # a person on the team, away until a test says otherwise
    bot: subprocess.Popen[bytes]
    start_bot: Callable[[], subprocess.Popen[bytes]]

    async def restart_bot(self, meanwhile: Callable[[], Awaitable[object]]) -> None:
        """Stop the bot's process, do `meanwhile`, start a new one, and wait till it is back."""
        self.bot.terminate()
        self.bot.wait(10)
        await until_team(self.ann, BOT, online=False)
        await meanwhile()
        self.bot = self.start_bot()
        await until_team(self.ann, BOT, online=True, status="available")


async def until_team(peer: Peer, name: str, **state: Any) -> None:
    """Wait for a `team` frame showing `name` as `state` says."""
    while True:
        team = await peer.expect("team", timeout=20)
        if any(a["name"] == name and all(a[k] == v for k, v in state.items())
               for a in team["agents"]):
            return


async def said(peer: Peer, who: str, fragment: str) -> dict[str, Any]:
    """The next message by `who` holding `fragment` (others by them are skipped)."""
    while True:
        frame = await peer.expect("message", timeout=10)
        if frame["author"]["name"] == who and fragment in frame["text"]:
            return frame


def by(peer: Peer, who: str, after_seq: int) -> list[str]:
    """What `who` wrote in the visitor's view after message `after_seq`."""
    return [f["text"] for f in peer.seen if f["type"] == "message"
            and f["author"]["name"] == who and f["seq"] > after_seq]


@pytest.fixture
async def shop(db_url: str, tmp_path: Path) -> AsyncIterator[Shop]:
    server = start_server(db_url, tmp_path / "server.log",
                          env={"CHATSERVER_IDENTITY_SECRET": IDENTITY_SECRET})
    bot_token = add_agent(db_url, "bot@example.com", BOT, capacity=10)
    ann_token = add_agent(db_url, "ann@example.com", "Ann")
    posted = httpx.post(server.url + "/api/orders", headers={
        "Authorization": f"Bearer {integration_token(db_url)}"}, json={
        "external_id": "1042", "email": "maya@example.com", "name": "Maya",
        "product": "Course Pro", "amount_cents": 14900, "currency": "USD",
        "purchased_at": "2026-11-14T23:30:00Z"})  # Nov 15 in Kiritimati (UTC+14)
    assert posted.status_code == 201, posted.text

    def start_bot() -> subprocess.Popen[bytes]:
        with (tmp_path / "bot.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, str(ROOT / "examples" / "order_bot.py")], stdout=log,
                stderr=subprocess.STDOUT, env={
                    **os.environ, "CHATSERVER_URL": server.url, "CHATSERVER_BOT_TOKEN": bot_token,
                    "TZ": "Pacific/Kiritimati", "PYTHONUNBUFFERED": "1"})

    ann = Peer(await websockets.connect(server.ws + "/ws/agent", additional_headers={
        "Authorization": f"Bearer {ann_token}"}))
    await ann.expect("welcome")
    shop = Shop(server, ann, start_bot(), start_bot)
    await until_team(ann, BOT, online=True, status="available")
    yield shop
    await ann.close()
    shop.bot.terminate()
    shop.bot.wait(10)
    server.stop()


async def visitor(shop: Shop, **hello: Any) -> Peer:
    peer = Peer(await websockets.connect(shop.server.ws + "/ws/visitor"))
    await peer.send("hello", token=None, name="Maya", **hello)
    await peer.expect("welcome")
    return peer


async def ask(peer: Peer, text: str, client_id: str) -> int:
    await peer.send("message", client_id=client_id, text=text)
    conversation_id: int = (await peer.expect("ack", client_id=client_id))["conversation_id"]
    return conversation_id


async def ann_is_available(shop: Shop) -> None:
    await shop.ann.send("presence", status="available")
    await until_team(shop.ann, "Ann", status="available")


async def test_the_bot_verifies_the_purchase_answers_then_hands_over_to_a_person(
        shop: Shop) -> None:
    maya = await visitor(shop)
    conversation_id = await ask(maya, "Hi, where is my order?", "m-1")
    await said(maya, BOT, "order assistant")
    await said(maya, BOT, "What is your order number")
    await ask(maya, "It's 1042, I used maya@example.org", "m-2")
    await said(maya, BOT, "I couldn't find an order with that number and email")
    await ask(maya, "Sorry: 1042, maya@example.com", "m-2b")
    await said(maya, "System", "Purchase verified: order 1042, Course Pro")
    await said(maya, BOT, ANSWER)

    await ann_is_available(shop)
    await ask(maya, "Thanks. Can I talk to a person about a refund?", "m-3")
    handing = await said(maya, BOT, "Ann will take it from here")
    assigned = (await shop.ann.expect("assigned", timeout=10))["conversation"]
    assert assigned["id"] == conversation_id
    assert assigned["customer_id"] is not None  # the purchase verified by the bot
    transcript = [m["text"] for m in assigned["messages"]]
    assert ANSWER in transcript and "Thanks. Can I talk to a person about a refund?" in transcript
    await said(maya, "System", "Ann took over the chat.")

    await expect_only_ann_answers(shop, maya, conversation_id, handing["seq"])


async def test_with_nobody_free_the_visitor_is_told_so_and_gets_the_first_person_free(
        shop: Shop) -> None:
    maya = await visitor(shop)
    conversation_id = await ask(maya, "I want to speak to a human please", "m-1")
    await said(maya, BOT, "let me find someone")
    busy = await said(maya, BOT, "Everyone on the team is busy right now")
    assert "first in line" in busy["text"]

    await ann_is_available(shop)
    assigned = (await shop.ann.expect("assigned", timeout=10))["conversation"]
    assert assigned["id"] == conversation_id
    await said(maya, "System", "Ann took over the chat.")
    await expect_only_ann_answers(shop, maya, conversation_id, busy["seq"])


async def expect_only_ann_answers(shop: Shop, maya: Peer, conversation_id: int,
                                  after_seq: int) -> None:
    """The visitor writes on; Ann gets it and answers; the bot said nothing meanwhile."""
    await ask(maya, "Where is my order 1042?", "m-9")
    await said(shop.ann, "Maya", "Where is my order 1042?")
    await shop.ann.send("message", conversation_id=conversation_id, client_id="a-1",
                        text="Hi Maya, Ann here.")
    await said(maya, "Ann", "Ann here")
    assert by(maya, BOT, after_seq) == []




async def test_a_restarted_bot_answers_what_was_written_while_it_was_away_and_no_more(
        shop: Shop) -> None:
    maya = await visitor(shop)
    await ask(maya, "Where is my order?", "m-1")
    asked = await said(maya, BOT, "What is your order number")
    await shop.restart_bot(lambda: ask(maya, "1042 maya@example.com", "m-2"))
    await said(maya, BOT, ANSWER)
    assert by(maya, BOT, asked["seq"]) == [ANSWER]  # no second greeting, nothing twice


async def test_a_visitor_the_shop_signed_in_is_answered_from_their_orders_at_once(
        shop: Shop) -> None:
    ts = int(time.time())
    maya = await visitor(shop, identity={
        "user_id": "42", "email": "maya@example.com", "name": "Maya", "ts": ts,
        "hash": sign_identity(IDENTITY_SECRET, "42", "maya@example.com", ts)})
    await ask(maya, "Hello, has my order shipped?", "m-1")
    await said(maya, BOT, ANSWER)
    assert len(by(maya, BOT, 0)) == 2  # the greeting, then the answer: no questions asked
