"""The agent socket and routing over real connections: assignment, queue, grace, notes, auth."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import websockets

from tests.conftest import T0, Clock
from tests.web.conftest import InProcessServer, Peer, agent, visitor


async def open_chat(server: InProcessServer, text: str = "hello") -> tuple[Peer, int]:
    peer, _ = await visitor(server)
    await peer.send("message", client_id="first", text=text)
    return peer, (await peer.expect("ack", client_id="first"))["conversation_id"]


async def test_third_visitor_waits_first_in_line_and_gets_the_freed_agent(
        server: InProcessServer) -> None:
    ann = await agent(server, server.agent("ann@example.com", "Ann", capacity=1))
    bob = await agent(server, server.agent("bob@example.com", "Bob", capacity=1))
    v1, c1 = await open_chat(server, "first")
    v2, c2 = await open_chat(server, "second")
    v3, c3 = await open_chat(server, "third")
    assert (await v1.expect("status", status="active"))["agent"]["name"] in ("Ann", "Bob")
    assert (await v2.expect("status", status="active"))["agent"]["name"] in ("Ann", "Bob")
    waiting = await v3.expect("status", status="queued")
    assert waiting["queue_position"] == 1 and waiting["agents_online"] == 2
    owners = {}
    for staff in (ann, bob):
        owners[(await staff.expect("assigned"))["conversation"]["id"]] = staff
    assert set(owners) == {c1, c2}
    while [q["id"] for q in (await ann.expect("queue"))["conversations"]] != [c3]:
        pass  # agents see the third chat waiting
    await owners[c1].send("close", conversation_id=c1)
    await owners[c1].expect("unassigned", conversation_id=c1, reason="closed")
    assigned = await owners[c1].expect("assigned")
    assert assigned["conversation"]["id"] == c3
    assert assigned["conversation"]["messages"][0]["text"] == "third"
    active = await v3.expect("status", status="active")
    assert active["queue_position"] is None and active["agent"]["name"] in ("Ann", "Bob")
    for peer in (ann, bob, v1, v2, v3):
        await peer.close()


async def test_agents_see_the_queue_with_positions(server: InProcessServer) -> None:
    staff = await agent(server, server.agent("ann@example.com", "Ann"), available=False)
    _, c1 = await open_chat(server)
    _, c2 = await open_chat(server)
    while True:
        queue = await staff.expect("queue")
        if len(queue["conversations"]) == 2:
            break
    assert [(q["id"], q["queue_position"]) for q in queue["conversations"]] == [(c1, 1), (c2, 2)]
    assert all(q["waiting_since"].endswith("Z") for q in queue["conversations"])


async def test_least_loaded_agent_gets_the_next_chat(server: InProcessServer) -> None:
    ann = await agent(server, server.agent("ann@example.com", "Ann"))
    await open_chat(server)
    await ann.expect("assigned")
    bob = await agent(server, server.agent("bob@example.com", "Bob"))
    _, c2 = await open_chat(server)
    assert (await bob.expect("assigned"))["conversation"]["id"] == c2
    team = await bob.expect("team")
    while {a["name"]: a["load"] for a in team["agents"]} != {"Ann": 1, "Bob": 1}:
        team = await bob.expect("team")


async def test_an_away_agent_gets_nothing_new_and_keeps_their_chats(
        server: InProcessServer) -> None:
    ann = await agent(server, server.agent("ann@example.com", "Ann"))
    v1, c1 = await open_chat(server)
    await ann.expect("assigned")
    await ann.send("presence", status="away")
    await ann.send("ping")
    await ann.expect("pong")
    v2, c2 = await open_chat(server)
    assert (await v2.expect("status"))["queue_position"] == 1
    await v1.send("message", client_id="again", text="still there?")
    assert (await ann.expect("message", text="still there?"))["conversation_id"] == c1
    assert not [f for f in await ann.quiet(0.3) if f["type"] == "assigned"]
    await ann.send("presence", status="available")  # capacity frees: the queue moves
    assert (await ann.expect("assigned"))["conversation"]["id"] == c2


async def test_grace_period_requeues_a_disconnected_agents_chats(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(grace_seconds=0.5)
    ann_token = server.agent("ann@example.com", "Ann")
    ann = await agent(server, ann_token)
    peer, conversation_id = await open_chat(server)
    await ann.expect("assigned")
    await peer.expect("status", status="active")
    peer.pending.clear()
    await ann.close()
    await peer.send("message", client_id="m2", text="hello? anyone?")  # kept meanwhile
    await peer.expect("ack", client_id="m2")
    queued = await peer.expect("status", status="queued", timeout=3)
    assert queued["queue_position"] == 1 and queued["agent"] is None
    bob = await agent(server, server.agent("bob@example.com", "Bob"))
    assigned = await bob.expect("assigned")
    assert assigned["conversation"]["id"] == conversation_id
    assert "hello? anyone?" in [m["text"] for m in assigned["conversation"]["messages"]]
    await peer.close()
    await bob.close()


async def test_reconnecting_within_grace_keeps_the_chat_and_delivers_what_was_missed(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(grace_seconds=5)
    token = server.agent("ann@example.com", "Ann")
    ann = await agent(server, token)
    peer, conversation_id = await open_chat(server)
    await ann.expect("assigned")
    await peer.expect("status", status="active")
    peer.pending.clear()
    await ann.close()
    for n in range(3):
        await peer.send("message", client_id=f"w{n}", text=f"while away {n}")
        await peer.expect("ack", client_id=f"w{n}")
    ws = await websockets.connect(server.ws + "/ws/agent",
                                  additional_headers={"Authorization": f"Bearer {token}"})
    back = Peer(ws)
    welcome = await back.expect("welcome")
    [conversation] = welcome["conversations"]
    assert conversation["id"] == conversation_id
    texts = [m["text"] for m in conversation["messages"]]
    assert texts[-3:] == ["while away 0", "while away 1", "while away 2"]
    seqs = [m["seq"] for m in conversation["messages"]]
    assert seqs == list(range(1, len(seqs) + 1))
    await back.send("sync", conversation_id=conversation_id, last_seq=seqs[-3] - 1)
    history = await back.expect("history")
    assert [m["text"] for m in history["messages"]] == texts[-3:]
    assert not [f for f in await peer.quiet(0.2) if f.get("status") == "queued"]
    await peer.close()
    await back.close()


async def test_private_notes_never_reach_the_visitor(server: InProcessServer) -> None:
    ann = await agent(server, server.agent("ann@example.com", "Ann"))
    peer, conversation_id = await open_chat(server)
    await ann.expect("assigned")
    await ann.send("message", conversation_id=conversation_id, client_id="n1",
                   text="customer seems upset", private=True)
    ack = await ann.expect("ack", client_id="n1")
    assert ack["seq"] is None and ack["note_seq"] == 1
    await ann.send("message", conversation_id=conversation_id, client_id="r1", text="Hi there!")
    await peer.expect("message", text="Hi there!")
    seen = [f.get("text") for f in peer.seen]
    assert "customer seems upset" not in seen
    transcript = server.get(f"/api/conversations/{conversation_id}",
                            server.agent("sam@example.com", "Sam")).json()
    note = next(m for m in transcript["messages"] if m["text"] == "customer seems upset")
    assert note["private"] is True and "seq" not in note and note["note_seq"] == 1
    await peer.close()


async def test_a_resent_reply_or_note_after_the_close_gets_its_first_ack(
        server: InProcessServer) -> None:
    ann_token = server.agent("ann@example.com", "Ann")
    ann = await agent(server, ann_token)
    peer, conversation_id = await open_chat(server)
    await ann.expect("assigned")
    first = {}
    for client_id, private in (("r1", False), ("n1", True)):
        await ann.send("message", conversation_id=conversation_id, client_id=client_id,
                       text=f"said once: {client_id}", private=private)
        first[client_id] = await ann.expect("ack", client_id=client_id)
    await ann.send("close", conversation_id=conversation_id)
    await ann.expect("unassigned", conversation_id=conversation_id)
    await ann.close()
    ann = await agent(server, ann_token)  # reconnected, the acks lost: the console resends
    for client_id, private in (("r1", False), ("n1", True)):
        await ann.send("message", conversation_id=conversation_id, client_id=client_id,
                       text=f"said once: {client_id}", private=private)
        assert await ann.expect("ack", client_id=client_id) == first[client_id]
    bob = await agent(server, server.agent("bob@example.com", "Bob"))
    await bob.send("message", conversation_id=conversation_id, client_id="r1", text="mine?")
    assert (await bob.expect("error"))["code"] == "forbidden"  # a client_id is per sender
    transcript = server.get(f"/api/conversations/{conversation_id}", ann_token).json()
    texts = [m["text"] for m in transcript["messages"]]
    assert texts.count("said once: r1") == 1 and texts.count("said once: n1") == 1
    assert "mine?" not in texts
    await peer.close()


async def test_an_agent_cannot_act_in_someone_elses_conversation(
        server: InProcessServer) -> None:
    ann = await agent(server, server.agent("ann@example.com", "Ann"))
    bob = await agent(server, server.agent("bob@example.com", "Bob"), available=False)
    _, conversation_id = await open_chat(server)
    await ann.expect("assigned")
    for frame in ({"type": "message", "client_id": "x", "text": "hijack"},
                  {"type": "close"}, {"type": "transfer", "to_agent_id": None}):
        await bob.send(conversation_id=conversation_id, **frame)  # type: ignore[arg-type]
        assert (await bob.expect("error"))["code"] == "forbidden"


async def test_a_supervisor_may_add_a_note_anywhere(server: InProcessServer) -> None:
    ann = await agent(server, server.agent("ann@example.com", "Ann"))
    sue = await agent(server, server.agent("sue@example.com", "Sue", role="supervisor"),
                      available=False)
    _, conversation_id = await open_chat(server)
    await ann.expect("assigned")
    await sue.send("message", conversation_id=conversation_id, client_id="s1",
                   text="offer the discount", private=True)
    assert (await sue.expect("ack"))["note_seq"] == 1
    note = await ann.expect("message", text="offer the discount")
    assert note["private"] is True
    await sue.send("message", conversation_id=conversation_id, client_id="s2", text="hi")
    assert (await sue.expect("error"))["code"] == "forbidden"


async def test_claim_takes_a_queued_chat_and_a_second_claim_conflicts(
        server: InProcessServer) -> None:
    ann = await agent(server, server.agent("ann@example.com", "Ann"), available=False)
    bob = await agent(server, server.agent("bob@example.com", "Bob"), available=False)
    peer, conversation_id = await open_chat(server)
    await ann.send("claim", conversation_id=conversation_id)
    assert (await ann.expect("assigned"))["conversation"]["id"] == conversation_id
    await bob.send("claim", conversation_id=conversation_id)
    assert (await bob.expect("error"))["code"] == "conflict"
    assert (await peer.expect("status", status="active"))["agent"] == {"name": "Ann"}


async def test_transfer_to_another_agent_and_back_to_the_queue(server: InProcessServer) -> None:
    ann = await agent(server, server.agent("ann@example.com", "Ann"))
    bob_token = server.agent("bob@example.com", "Bob", capacity=1)
    peer, conversation_id = await open_chat(server)
    await ann.expect("assigned")
    bob = await agent(server, bob_token, available=False)
    team = await bob.expect("team")
    bob_id = next(a["id"] for a in team["agents"] if a["name"] == "Bob")
    await ann.send("transfer", conversation_id=conversation_id, to_agent_id=bob_id)
    assert (await ann.expect("error"))["code"] == "conflict"  # Bob is away
    await ann.send("transfer", conversation_id=conversation_id, to_agent_id=999)
    assert (await ann.expect("error"))["code"] == "conflict"  # unknown
    await bob.send("presence", status="available")
    await bob.send("ping")
    await bob.expect("pong")
    await ann.send("transfer", conversation_id=conversation_id, to_agent_id=bob_id)
    assert (await ann.expect("unassigned"))["reason"] == "transferred"
    assigned = await bob.expect("assigned")
    assert assigned["conversation"]["id"] == conversation_id
    assert (await peer.expect("status", agent={"name": "Bob"}))["status"] == "active"
    await bob.send("transfer", conversation_id=conversation_id, to_agent_id=None)
    await bob.expect("unassigned", conversation_id=conversation_id)
    again = await ann.expect("assigned")  # the only other free agent takes it at once
    assert again["conversation"]["id"] == conversation_id


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nonsense"}])
async def test_the_agent_socket_needs_a_valid_token(server: InProcessServer,
                                                    headers: dict[str, str]) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(server.ws + "/ws/agent", additional_headers=headers)
    assert refused.value.response.status_code == 401


async def test_welcome_reports_the_status_the_agent_last_chose(server: InProcessServer) -> None:
    token = server.agent("ann@example.com", "Ann", capacity=4)
    first = await agent(server, token, available=False)
    assert first.seen[0]["agent"]["status"] == "away"
    await first.send("presence", status="available")
    await first.send("ping")
    await first.expect("pong")
    await first.close()
    again = await agent(server, token, available=False)
    welcome = again.seen[0]["agent"]
    assert welcome["status"] == "available" and welcome["capacity"] == 4
    assert welcome["name"] == "Ann" and welcome["role"] == "agent"


async def test_after_a_restart_the_grace_period_starts_for_agents_not_connected(
        serve: Callable[..., InProcessServer]) -> None:
    first = serve(grace_seconds=0.5)
    token = first.agent("ann@example.com", "Ann")
    ann = await agent(first, token)
    peer, conversation_id = await open_chat(first)
    await ann.expect("assigned")
    await ann.close()
    await peer.close()
    first.stop()  # restarted before the grace period ran out
    second = serve(grace_seconds=0.5)
    bob = await agent(second, second.agent("bob@example.com", "Bob"))
    assigned = await bob.expect("assigned", timeout=5)
    assert assigned["conversation"]["id"] == conversation_id



async def set_presence(staff: Peer, status: str) -> None:
    await staff.send("presence", status=status)
    await staff.send("ping")
    await staff.expect("pong")  # frames are handled in order: the presence is in effect


async def test_a_transfer_is_no_wait_in_the_next_visitors_estimate(
        server: InProcessServer, store_clock: Clock) -> None:
    ann = await agent(server, server.agent("ann@example.com", "Ann", capacity=1),
                      available=False)
    bob = await agent(server, server.agent("bob@example.com", "Bob", capacity=1),
                      available=False)
    first, c1 = await open_chat(server, "first")  # queued at T0: nobody is available
    await first.expect("status", status="queued")
    store_clock.at = T0 + 13
    await set_presence(ann, "available")
    await first.expect("status", status="active", agent={"name": "Ann"})  # waited 13 s
    store_clock.at = T0 + 272
    await set_presence(bob, "available")
    bob_id = next(a["id"] for a in (await bob.expect("team"))["agents"] if a["name"] == "Bob")
    await ann.send("transfer", conversation_id=c1, to_agent_id=bob_id)
    await first.expect("status", status="active", agent={"name": "Bob"})
    await set_presence(ann, "away")
    second, _ = await open_chat(server, "second")
    waiting = await second.expect("status", status="queued")
    assert (waiting["queue_position"], waiting["expected_wait_seconds"]) == (1, 13)
