"""Two server processes on one PostgreSQL database and one Redis act as one server: what an
admin changes in one holds in the other, an alert is raised once, and whether a visitor is
online is known to both. (Each "process" is a server of its own in a thread here: its own
store pool, bus link and services, sharing nothing with the other but the database and Redis.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from chatserver.config import Settings
from chatserver.domain.throttle import ACCOUNT
from chatserver.web import console
from tests.redis_urls import forget, redis_url
from tests.store.conftest import postgres_schema
from tests.web.conftest import InProcessServer, Peer, agent
from tests.web.test_agent_changes import PASSWORD, agent_id, close_code, staff
from tests.web.test_gap_filling import announce, committed_unannounced, numbered

SHOP = "https://shop.example"
Pair = tuple[InProcessServer, InProcessServer]


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    bus = redis_url()
    async with postgres_schema(tmp_path) as database:
        settings = Settings(database_url=database, bus_url=bus, allowed_origins=(SHOP,),
                            hello_timeout=2.0, unanswered_alert=0.0)
        started: list[InProcessServer] = []
        try:
            for _ in range(2):
                started.append(InProcessServer(settings).start())
            yield started[0], started[1]
        finally:
            for server in started:
                server.stop()
            await forget(bus)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Wait until `check` holds (news between processes takes a moment), or fail."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "it never came to hold"
        await asyncio.sleep(0.05)


def as_admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def shop_visitor(server: InProcessServer) -> tuple[Peer, dict[str, Any]]:
    """A new visitor on the shop's pages, after hello; with their welcome."""
    peer = Peer(await websockets.connect(server.ws + "/ws/visitor",
                                         origin=SHOP))  # type: ignore[arg-type]
    await peer.send("hello", token=None)
    return peer, await peer.expect("welcome")


async def test_widget_settings_changed_in_one_process_are_served_by_the_other(
        pair: Pair) -> None:
    one, other = pair
    tokens = staff(one)
    changed = httpx.put(one.url + "/api/widget-settings", json={"title": "Ask Maya"},
                        headers=as_admin(tokens["ada"]))
    assert changed.status_code == 200, changed.text

    async def served() -> bool:
        return other.get("/api/widget-settings").json()["widget"]["title"] == "Ask Maya"
    await eventually(served)
    _, welcome = await shop_visitor(other)
    assert welcome["widget"]["title"] == "Ask Maya"


async def test_wrong_passwords_spread_over_both_processes_lock_the_account_in_both(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "now", lambda: 1_000_000.0)  # the lock never runs out here
    one, other = pair
    staff(one)
    answers = [(one, other)[n % 2].try_sign_in("ann@example.com", f"guess-{n}").status_code
               for n in range(ACCOUNT.free + 2)]
    assert answers == [401] * ACCOUNT.free + [429] * 2
    for server in pair:
        refused = server.try_sign_in("ann@example.com", PASSWORD)
        assert refused.status_code == 429 and "chatserver_session" not in refused.cookies


async def test_an_origin_allowed_in_one_process_may_open_sockets_in_the_other(
        pair: Pair) -> None:
    one, other = pair
    tokens = staff(one)
    blog = "https://blog.example"

    async def opens() -> bool:
        try:
            ws = await websockets.connect(other.ws + "/ws/visitor", origin=blog)  # type: ignore[arg-type]
        except websockets.InvalidStatus:
            return False
        await ws.close()
        return True
    assert not await opens()
    allowed = httpx.put(one.url + "/api/allowed-origins", json={"origins": [blog]},
                        headers=as_admin(tokens["ada"]))
    assert allowed.status_code == 200, allowed.text
    await eventually(opens)


async def test_revoking_a_token_in_one_process_closes_its_sockets_in_the_other(
        pair: Pair) -> None:
    one, other = pair
    tokens = staff(one)
    sue = await agent(other, tokens["sue"], available=False)
    [token_id] = [t["id"] for t in one.get("/api/tokens", tokens["ada"]).json()["tokens"]
                  if t["agent_name"] == "Sue"]
    revoked = httpx.delete(one.url + f"/api/tokens/{token_id}", headers=as_admin(tokens["ada"]))
    assert revoked.status_code == 204, revoked.text
    await sue.expect("signed_out")
    assert await close_code(sue) == 4001


@pytest.mark.parametrize("change", [{"role": "agent"}, {"disabled": True}])
async def test_a_role_change_or_disable_in_one_process_closes_the_agents_sockets_in_the_other(
        pair: Pair, change: dict[str, Any]) -> None:
    one, other = pair
    tokens = staff(one)
    cookie = other.sign_in("sue@example.com", PASSWORD)
    assert cookie is not None
    sue = await agent(other, tokens["sue"], available=False)
    sue_id = agent_id(one, tokens["ada"], "sue@example.com")
    changed = httpx.patch(one.url + f"/api/agents/{sue_id}", json=change,
                          headers=as_admin(tokens["ada"]))
    assert changed.status_code == 200, changed.text
    assert await close_code(sue) == 4001  # and her console session is over:
    page = httpx.get(other.url + "/console", cookies={"chatserver_session": cookie})
    assert page.status_code != 200


async def test_a_visitor_left_unanswered_is_flagged_once_whichever_processes_look(
        pair: Pair) -> None:
    one, other = pair
    tokens = staff(one)
    sue = await agent(one, tokens["sue"], available=False)  # oversees, takes no chats
    peer, _ = await shop_visitor(one)
    await peer.send("message", client_id="v1", text="anyone?")
    conversation_id = (await peer.expect("ack", client_id="v1"))["conversation_id"]
    for server in (one, other, one, other):  # as their watches would, every few seconds
        await server.on_loop(server.app.state.services.supervision.look)
    flagged = await sue.expect("unanswered")
    assert flagged["conversation"]["id"] == conversation_id
    assert [f for f in await sue.quiet(0.5) if f["type"] == "unanswered"] == []


async def test_a_visitor_connected_to_one_process_is_online_for_the_other(pair: Pair) -> None:
    one, other = pair
    peer, welcome = await shop_visitor(one)

    async def online() -> bool:
        record = other.app.state.services.missed_answers.online
        return bool(await other.on_loop(lambda: record.online(welcome["visitor_id"])))
    await eventually(online)
    await peer.close()

    async def offline() -> bool:
        return not await online()
    await eventually(offline)


async def test_a_visitor_gets_messages_another_process_stored_in_order_though_one_was_never_told(
        pair: Pair) -> None:
    one, other = pair
    peer, welcome = await shop_visitor(other)
    await peer.send("message", client_id="v1", text="anyone?")
    conversation_id = (await peer.expect("ack", client_id="v1"))["conversation_id"]
    await peer.expect("message", seq=1)
    ann_id = agent_id(one, staff(one)["ada"], "ann@example.com")
    late = await committed_unannounced(one, conversation_id, ann_id, ["two", "three"])
    await announce(one, late[-1], welcome["visitor_id"], ann_id)  # the news of "two" is lost
    assert numbered([await peer.expect("message"), await peer.expect("message")]) == [
        (2, "two"), (3, "three")]
    await announce(one, late[0], welcome["visitor_id"], ann_id)  # or it comes late after all
    assert numbered(await peer.quiet(0.5)) == []
