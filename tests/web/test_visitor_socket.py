"""The visitor socket over a real connection: hello, messages, acks, resume, tabs, bad input."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
import websockets

from chatserver.config import Limit
from chatserver.domain.identity import sign_identity
from chatserver.web import socket_session
from tests.backends import query
from tests.web.conftest import InProcessServer, Peer, agent, visitor


def rows(server: InProcessServer, sql: str, *args: object) -> list[tuple[object, ...]]:
    return query(server.settings.database_url, sql, *args)


async def chat_with_ann(server: InProcessServer, **hello: Any,
                        ) -> tuple[Peer, Peer, dict[str, Any], int]:
    """Agent Ann, available, and a visitor who wrote "hi": their sockets once she has the chat,
    the visitor's welcome and the conversation's id."""
    staff = await agent(server, server.agent("ann@example.com", "Ann"))
    peer, welcome = await visitor(server, **hello)
    await peer.send("message", client_id="v1", text="hi")
    conversation_id = (await peer.expect("ack", client_id="v1"))["conversation_id"]
    await staff.expect("assigned")
    return staff, peer, welcome, conversation_id


async def test_new_visitor_gets_a_token_and_no_conversation(server: InProcessServer) -> None:
    peer, welcome = await visitor(server)
    assert len(welcome["token"]) >= 22 and isinstance(welcome["visitor_id"], str)
    assert welcome["conversation"] is None and welcome["messages"] == []
    assert welcome["agents_online"] == 0
    await peer.close()


async def test_first_message_opens_a_queued_conversation(server: InProcessServer) -> None:
    peer, _ = await visitor(server)
    await peer.send("message", client_id="m1", text="Where is my order?")
    ack = await peer.expect("ack", client_id="m1")
    assert ack["seq"] == 1
    status = await peer.expect("status", conversation_id=ack["conversation_id"])
    assert status["status"] == "queued" and status["queue_position"] == 1
    assert status["agent"] is None and status["agents_online"] == 0
    await peer.close()


async def test_ack_comes_only_after_the_message_is_committed(server: InProcessServer) -> None:
    peer, _ = await visitor(server)
    for n in range(10):
        await peer.send("message", client_id=f"c{n}", text=f"line {n}")
        ack = await peer.expect("ack", client_id=f"c{n}")
        stored = rows(server, "SELECT seq, text FROM messages WHERE client_id = ?", f"c{n}")
        assert stored == [(ack["seq"], f"line {n}")]
    await peer.close()


async def test_same_client_id_three_times_is_stored_once(server: InProcessServer) -> None:
    token = server.agent("ann@example.com", "Ann")
    staff = await agent(server, token)
    peer, welcome = await visitor(server)
    await peer.send("message", client_id="dup", text="hello")
    await peer.send("message", client_id="dup", text="hello")
    first = await peer.expect("ack", client_id="dup")
    second = await peer.expect("ack", client_id="dup")
    await peer.close()
    again, _ = await visitor(server, welcome["token"])  # after a reconnect
    await again.send("message", client_id="dup", text="hello")
    third = await again.expect("ack", client_id="dup")
    assert first == second == third
    assert rows(server, "SELECT COUNT(*) FROM messages WHERE client_id = 'dup'") == [(1,)]
    assigned = await staff.expect("assigned")
    texts = [m["text"] for m in assigned["conversation"]["messages"]]
    frames = await staff.quiet(0.5)
    texts += [f["text"] for f in frames if f["type"] == "message"]
    assert texts.count("hello") == 1
    await again.close()
    await staff.close()


async def test_reconnect_with_last_seq_gets_exactly_the_missed_messages(
        server: InProcessServer) -> None:
    staff, peer, welcome, conversation_id = await chat_with_ann(server)
    joined = await peer.expect("message", text="Ann joined the chat.")
    await peer.close()
    for n in range(3):  # the agent writes while the visitor is away
        await staff.send("message", conversation_id=conversation_id, client_id=f"a{n}",
                         text=f"answer {n}")
        await staff.expect("ack", client_id=f"a{n}")
    back, welcome2 = await visitor(server, welcome["token"], conversation_id=conversation_id,
                                   last_seq=joined["seq"])
    assert [m["text"] for m in welcome2["messages"]] == ["answer 0", "answer 1", "answer 2"]
    assert [m["seq"] for m in welcome2["messages"]] == [joined["seq"] + n for n in (1, 2, 3)]
    assert welcome2["conversation"]["status"] == "active"
    assert welcome2["conversation"]["agent"] == {"name": "Ann"}
    assert not [f for f in await back.quiet(0.3) if f["type"] == "message"]  # no duplicates
    await back.close()
    await staff.close()


async def test_a_message_committed_while_the_welcome_is_read_arrives_once(
        server: InProcessServer) -> None:
    staff, _, welcome, conversation_id = await chat_with_ann(server)
    # Hold the next welcome between reading the conversation and reading its messages,
    # and have the agent's answer committed right there.
    store = server.app.state.services.visitor_chat.store
    read_messages = store.messages
    between, answered = threading.Event(), threading.Event()

    async def messages_after_the_answer(*args: Any, **options: Any) -> Any:
        between.set()
        await asyncio.to_thread(answered.wait, 5)
        return await read_messages(*args, **options)

    store.messages = messages_after_the_answer
    try:
        joining = asyncio.create_task(visitor(server, welcome["token"]))
        assert await asyncio.to_thread(between.wait, 5)
        await staff.send("message", conversation_id=conversation_id, client_id="a1",
                         text="an answer in between")
        await staff.expect("ack", client_id="a1")
        answered.set()
        tab, welcome2 = await joining
    finally:
        store.messages = read_messages
    assert "an answer in between" in [m["text"] for m in welcome2["messages"]]
    assert not [f for f in await tab.quiet(0.3) if f["type"] == "message"]  # not twice


async def test_hello_without_last_seq_gets_the_whole_conversation(server: InProcessServer) -> None:
    peer, welcome = await visitor(server)
    await peer.send("message", client_id="v1", text="one")
    await peer.send("message", client_id="v2", text="two")
    await peer.expect("ack", client_id="v2")
    await peer.close()
    back, again = await visitor(server, welcome["token"])
    assert [m["text"] for m in again["messages"]] == ["one", "two"]
    assert [m["seq"] for m in again["messages"]] == [1, 2]
    assert again["messages"][0]["client_id"] == "v1"
    await back.close()


async def test_unknown_token_gets_a_new_visitor(server: InProcessServer) -> None:
    peer, first = await visitor(server)
    await peer.send("message", client_id="x", text="private question")
    await peer.expect("ack")
    other, second = await visitor(server, "v_not-a-token-we-issued")
    assert second["visitor_id"] != first["visitor_id"] and second["token"] != first["token"]
    assert second["conversation"] is None and second["messages"] == []
    await peer.close()
    await other.close()


async def test_every_tab_of_a_visitor_sees_the_conversation(server: InProcessServer) -> None:
    tab1, welcome = await visitor(server)
    tab2, _ = await visitor(server, welcome["token"])
    await tab1.send("message", client_id="t1", text="from tab one")
    message = await tab2.expect("message", text="from tab one")
    assert message["author"]["role"] == "visitor" and message["seq"] == 1
    await tab2.expect("status", status="queued")
    await tab1.close()
    await tab2.close()


@pytest.mark.parametrize("first", [
    {"type": "message", "client_id": "a", "text": "no hello"},
    {"type": "ping"},
    {"type": "hello", "token": 5},
])
async def test_a_first_frame_that_is_not_hello_closes_with_1008(
        server: InProcessServer, first: dict[str, object]) -> None:
    ws = await websockets.connect(server.ws + "/ws/visitor")
    peer = Peer(ws)
    await ws.send(__import__("orjson").dumps(first).decode())
    error = await peer.expect("error")
    assert error["code"] == "hello_required"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert rows(server, "SELECT COUNT(*) FROM visitors") == [(0,)]
    assert rows(server, "SELECT COUNT(*) FROM messages") == [(0,)]


async def test_no_hello_in_time_closes_with_1008(serve: object) -> None:
    server = serve(hello_timeout=0.3)  # type: ignore[operator]
    ws = await websockets.connect(server.ws + "/ws/visitor")
    error = await Peer(ws).expect("error")
    assert error["code"] == "hello_required"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_a_hello_timeout_of_0_waits_for_hello_as_long_as_it_takes(serve: object) -> None:
    server = serve(hello_timeout=0)  # type: ignore[operator]
    ws = await websockets.connect(server.ws + "/ws/visitor")
    await asyncio.sleep(0.5)
    peer = Peer(ws)
    await peer.send("hello", token=None)
    assert (await peer.recv())["type"] == "welcome"


async def test_bad_frames_get_bad_request_and_the_socket_stays_open(
        server: InProcessServer) -> None:
    peer, _ = await visitor(server)
    for raw in ["{not json", "[1, 2]", '{"type": "shout"}', '{"type": "message", "text": "x"}',
                '{"type": "message", "client_id": "c", "text": 5}',
                '{"type": "typing", "active": "yes"}', '{"type": "rate", "score": 9}']:
        await peer.ws.send(raw)
        error = await peer.expect("error")
        assert error["code"] == "bad_request", raw
    await peer.send("ping")
    await peer.expect("pong")
    assert rows(server, "SELECT COUNT(*) FROM messages") == [(0,)]
    await peer.close()


async def test_text_over_4000_characters_is_too_large_and_the_socket_stays_open(
        server: InProcessServer) -> None:
    peer, _ = await visitor(server)
    await peer.send("message", client_id="big", text="x" * 5000)
    error = await peer.expect("error")
    assert error == {"type": "error", "code": "too_large", "client_id": "big",
                     "message": error["message"]}
    await peer.send("message", client_id="ok", text="x" * 4000)
    assert (await peer.expect("ack", client_id="ok"))["seq"] == 1
    assert rows(server, "SELECT client_id FROM messages") == [("ok",)]
    await peer.close()


async def test_a_frame_over_64_kib_closes_the_socket_with_1009(server: InProcessServer) -> None:
    peer, welcome = await visitor(server)
    await peer.send("message", client_id="huge", text="y" * (70 * 1024))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await peer.ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert rows(server, "SELECT COUNT(*) FROM messages") == [(0,)]
    again, _ = await visitor(server, welcome["token"])  # the visitor can carry on
    await again.send("message", client_id="after", text="still here")
    await again.expect("ack", client_id="after")
    await again.close()


async def test_a_flood_is_rate_limited_and_the_excess_not_stored(server: InProcessServer) -> None:
    peer, _ = await visitor(server)
    for n in range(25):
        await peer.send("message", client_id=f"f{n}", text=f"spam {n}")
    acks, limited = 0, 0
    while acks + limited < 25:
        frame = await peer.recv()
        acks += frame["type"] == "ack"
        limited += frame["type"] == "error" and frame["code"] == "rate_limited"
    assert (acks, limited) == (20, 5)
    assert rows(server, "SELECT COUNT(*) FROM messages") == [(20,)]
    await peer.close()


async def test_new_visitor_sessions_from_one_address_are_limited(serve: object) -> None:
    server = serve(visitor_session_limit=Limit(3, 60))  # type: ignore[operator]
    tokens = []
    for _ in range(3):
        peer, welcome = await visitor(server)
        tokens.append(welcome["token"])
        await peer.close()
    ws = await websockets.connect(server.ws + "/ws/visitor")
    peer = Peer(ws)
    await peer.send("hello", token=None)
    assert (await peer.expect("error"))["code"] == "rate_limited"
    await peer.close()
    returning, _ = await visitor(server, tokens[0])  # known visitors still get in
    await returning.close()
    assert rows(server, "SELECT COUNT(*) FROM visitors") == [(3,)]


@pytest.mark.parametrize(("origin", "allowed"), [
    ("https://shop.example", True), ("https://evil.example", False), (None, False),
])
async def test_only_allowed_origins_may_open_the_visitor_socket(
        serve: object, origin: str | None, allowed: bool) -> None:
    server = serve(allowed_origins=("https://shop.example",))  # type: ignore[operator]
    headers = {"Origin": origin} if origin else {}
    if allowed:
        ws = await websockets.connect(server.ws + "/ws/visitor", origin=origin)  # type: ignore[arg-type]
        await ws.close()
        return
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(server.ws + "/ws/visitor", additional_headers=headers)
    assert refused.value.response.status_code == 403


async def typing_seen(peer: Peer, after: Peer, marker: dict[str, Any]) -> list[bool]:
    """What `peer` was shown of typing until the message `after` sent (`marker`) arrived."""
    await after.send("message", **marker)
    await peer.expect("message", text=marker["text"])
    return [f["active"] for f in peer.pending if f["type"] == "typing"]


async def test_a_thousand_typing_frames_reach_the_other_side_as_a_handful(
        server: InProcessServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Typing held down, then switched on and off as fast as a client can: the other side
    sees the first `true`, and then ten changes at most in ten seconds (the clock is stopped,
    so no repeat is due)."""
    monkeypatch.setattr(socket_session, "now", lambda: 1_000_000.0)
    staff, peer, _, conversation_id = await chat_with_ann(server)
    flood = [True] * 500 + [n % 2 == 1 for n in range(500)]
    for active in flood:
        await peer.send("typing", active=active)
    assert await typing_seen(staff, peer, {"client_id": "v2", "text": "done"}) == [
        True, False] * 5
    for active in flood:
        await staff.send("typing", conversation_id=conversation_id, active=active)
    assert await typing_seen(peer, staff, {"conversation_id": conversation_id,
                                           "client_id": "a1", "text": "done too"}) == [
        True, False] * 5


async def test_typing_read_and_close_reach_the_other_side(server: InProcessServer) -> None:
    staff, peer, _, conversation_id = await chat_with_ann(server, name="Maya")
    await peer.send("typing", active=True)
    typing = await staff.expect("typing")
    assert typing == {"type": "typing", "conversation_id": conversation_id, "role": "visitor",
                      "name": "Maya", "active": True}
    await staff.send("typing", conversation_id=conversation_id, active=True)
    assert (await peer.expect("typing"))["role"] == "agent"
    await staff.send("read", conversation_id=conversation_id, seq=1)
    assert (await peer.expect("read"))["seq"] == 1
    await peer.send("close")
    closed = await staff.expect("unassigned")
    assert closed["reason"] == "closed" and closed["conversation_id"] == conversation_id
    assert (await peer.expect("status", status="closed"))["agent"] == {"name": "Ann"}
    await peer.send("rate", score=5, comment="quick and kind")
    assert (await peer.expect("rated"))["score"] == 5
    assert rows(server, "SELECT rating_score, rating_comment FROM conversations") == [
        (5, "quick and kind")]
    await peer.close()
    await staff.close()


async def test_verified_identity_links_the_customer_and_their_past_chats(serve: object) -> None:
    server = serve(identity_secret="s3cret")  # type: ignore[operator]
    ts = int(time.time())
    identity = {"user_id": "u42", "email": "maya@example.com", "name": "Maya", "ts": ts,
                "hash": sign_identity("s3cret", "u42", "maya@example.com", ts)}
    laptop, first = await visitor(server, identity=identity)
    await laptop.send("message", client_id="l1", text="from my laptop")
    await laptop.expect("ack")
    phone, second = await visitor(server, identity=identity)  # a new device, same customer
    assert second["visitor_id"] == first["visitor_id"]
    assert [m["text"] for m in second["messages"]] == ["from my laptop"]
    staff = await agent(server, server.agent("ann@example.com", "Ann"))
    visitor_card = (await staff.expect("assigned"))["conversation"]["visitor"]
    assert visitor_card["verified"] is True and visitor_card["email"] == "maya@example.com"
    for peer in (laptop, phone, staff):
        await peer.close()


async def test_bad_identity_hash_leaves_the_visitor_anonymous(serve: object) -> None:
    server = serve(identity_secret="s3cret")  # type: ignore[operator]
    ts = int(time.time())
    forged = {"user_id": "u42", "email": "maya@example.com", "ts": ts, "hash": "0" * 64}
    ws = await websockets.connect(server.ws + "/ws/visitor")
    peer = Peer(ws)
    await peer.send("hello", token=None, identity=forged)
    welcome = await peer.recv()  # a hello is always answered by the welcome first
    assert welcome["type"] == "welcome" and welcome["conversation"] is None
    assert (await peer.recv())["code"] == "invalid_identity"
    assert rows(server, "SELECT verified, customer_id FROM visitors") == [(0, None)]
    await peer.close()


async def test_a_typed_email_never_opens_another_persons_conversations(
        serve: object) -> None:
    server = serve(identity_secret="s3cret")  # type: ignore[operator]
    ts = int(time.time())
    identity = {"user_id": "u1", "email": "maya@example.com", "ts": ts,
                "hash": sign_identity("s3cret", "u1", "maya@example.com", ts)}
    owner, _ = await visitor(server, identity=identity)
    await owner.send("message", client_id="secret", text="my card ends 4242")
    await owner.expect("ack")
    intruder, welcome = await visitor(server, email="maya@example.com", name="Maya")
    assert welcome["conversation"] is None and welcome["messages"] == []
    assert rows(server, "SELECT verified FROM visitors WHERE id = ?", welcome["visitor_id"]) == [
        (0,)]
    await owner.close()
    await intruder.close()


async def test_ping_is_answered_with_pong(server: InProcessServer) -> None:
    peer, _ = await visitor(server)
    await peer.send("ping")
    assert (await peer.recv())["type"] == "pong"
    await peer.close()


async def test_a_visitor_never_waits_for_a_closed_socket(server: InProcessServer) -> None:
    """Closing one tab mid-burst loses nothing for the other tab."""
    tab1, welcome = await visitor(server)
    tab2, _ = await visitor(server, welcome["token"])
    sends = [tab1.send("message", client_id=f"b{n}", text=f"burst {n}") for n in range(10)]
    await asyncio.gather(*sends)
    await tab1.close()
    got = [await tab2.expect("message", text=f"burst {n}") for n in range(10)]
    assert [m["seq"] for m in got] == list(range(1, 11))
    await tab2.close()


async def test_a_message_after_the_chat_closed_opens_a_new_one(server: InProcessServer) -> None:
    peer, _ = await visitor(server)
    await peer.send("message", client_id="one", text="first question")
    first = (await peer.expect("ack"))["conversation_id"]
    await peer.send("close")
    await peer.expect("status", status="closed")
    await peer.send("message", client_id="two", text="another question")
    ack = await peer.expect("ack", client_id="two")
    assert ack["conversation_id"] != first and ack["seq"] == 1
    assert (await peer.expect("status", conversation_id=ack["conversation_id"]))[
        "status"] == "queued"


async def test_a_resent_message_gets_its_first_ack_even_past_the_rate_limit(
        server: InProcessServer) -> None:
    peer, _ = await visitor(server)
    for n in range(20):
        await peer.send("message", client_id=f"r{n}", text=f"line {n}")
        await peer.expect("ack", client_id=f"r{n}")
    await peer.send("message", client_id="r3", text="line 3")  # resent after a lost ack
    assert (await peer.expect("ack", client_id="r3"))["seq"] == 4
    await peer.send("message", client_id="new", text="one too many")
    assert (await peer.expect("error", client_id="new"))["code"] == "rate_limited"


async def test_a_second_hello_is_a_bad_request_and_the_socket_stays_open(
        server: InProcessServer) -> None:
    peer, welcome = await visitor(server)
    await peer.send("hello", token=welcome["token"])
    assert (await peer.expect("error"))["code"] == "bad_request"
    await peer.send("ping")
    await peer.expect("pong")
