"""Several processes as one server (CONTRACT.md "Several servers", SCALING.md): three real
`chatserver serve` processes on one PostgreSQL schema and one Redis prefix, each client
connected to the process the test chooses."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import redis.asyncio as redis

from tests.cluster.conftest import Client, Cluster, agent, visitor
from tests.redis_urls import REDIS


def seqs_seen(client: Client, conversation_id: int) -> list[int]:
    """The visible seqs of a conversation in the order the client got them, snapshots too."""
    seen: list[int] = []
    for frame in client.frames:
        if frame["type"] == "assigned" and frame["conversation"]["id"] == conversation_id:
            seen += [m["seq"] for m in frame["conversation"]["messages"] if m["seq"]]
        elif frame["type"] == "message" and frame["conversation_id"] == conversation_id \
                and frame.get("seq"):
            seen.append(frame["seq"])
        elif frame["type"] == "welcome" and frame.get("conversation") and \
                frame["conversation"]["id"] == conversation_id:
            seen += [m["seq"] for m in frame["messages"]]
    return seen


def with_text(text: str) -> Any:
    return lambda frame: frame["type"] == "message" and frame["text"] == text


async def acked(client: Client, count: int) -> list[dict[str, Any]]:
    await client.until(lambda f: len(client.of_type("ack")) >= count, f"{count} acks")
    return client.of_type("ack")


async def test_a_visitor_their_other_tab_and_their_agent_on_three_processes_see_it_all_in_order(
        cluster: Cluster) -> None:
    ann = await agent(cluster.servers[0], cluster.agent("ann@example.com", "Ann"))
    tab = await visitor(cluster.servers[1])
    token = tab.of_type("welcome")[0]["token"]
    other_tab = await visitor(cluster.servers[2], token=token)
    for n in range(30):
        await tab.send("message", client_id=f"v{n}", text=f"question {n}")
    conversation_id = (await acked(tab, 30))[0]["conversation_id"]
    await ann.until(with_text("question 29"), "the visitor's last message")
    for n in range(10):
        await ann.send("message", conversation_id=conversation_id, client_id=f"a{n}",
                       text=f"answer {n}")
    for client in (tab, other_tab, ann):
        await client.until(with_text("answer 9"), "Ann's last answer")
    [(last_seq,)] = await cluster.rows("SELECT last_seq FROM conversations WHERE id = $1",
                                       conversation_id)
    for client in (tab, other_tab, ann):
        assert seqs_seen(client, conversation_id) == list(range(1, last_seq + 1))


async def test_racing_claims_from_three_processes_have_one_winner(cluster: Cluster) -> None:
    agents = [await agent(server, cluster.agent(f"agent{n}@example.com", f"Agent {n}"),
                          available=False) for n, server in enumerate(cluster.servers)]
    tab = await visitor(cluster.servers[0])
    await tab.send("message", client_id="c1", text="anyone?")
    conversation_id = (await acked(tab, 1))[0]["conversation_id"]
    for staff in agents:
        await staff.until(lambda f: f["type"] == "queue" and any(
            c["id"] == conversation_id for c in f["conversations"]), "the queued chat")
    await asyncio.gather(*(staff.send("claim", conversation_id=conversation_id)
                           for staff in agents))
    outcomes = await asyncio.gather(*(staff.until(
        lambda f: (f["type"] == "assigned" and f["conversation"]["id"] == conversation_id)
        or (f["type"] == "error" and f["code"] == "conflict"), "the claim's outcome")
        for staff in agents))
    assert sorted(frame["type"] for frame in outcomes) == ["assigned", "error", "error"]
    joined = await cluster.rows("SELECT text FROM messages WHERE conversation_id = $1 AND "
                                "author_role = 'system'", conversation_id)
    assert len(joined) == 1


async def test_chats_go_to_agents_on_other_processes_first_come_first_served_within_capacity(
        cluster: Cluster) -> None:
    """20 visitors against 3 agents of capacity 2, each on a process of their own."""
    staff = [await agent(cluster.servers[n], cluster.agent(f"{name}@example.com", name,
                                                          capacity=2))
             for n, name in enumerate(["Ann", "Bob", "Cat"])]
    tabs, opened = [], []
    for n in range(20):  # one after another: the order they queue in
        tab = await visitor(cluster.servers[n % 3])
        await tab.send("message", client_id="c1", text=f"visitor {n} here")
        opened.append((await acked(tab, 1))[0]["conversation_id"])
        tabs.append(tab)
    for tab in tabs[:6]:
        await tab.until(lambda f: f["type"] == "status" and f["status"] == "active", "an agent")
    for position, tab in enumerate(tabs[6:], 1):
        await tab.until(lambda f, p=position: f["type"] == "status" and
                        f["queue_position"] == p, f"queue position {position}")
    loads = await cluster.rows("SELECT agent_id, COUNT(*) FROM conversations WHERE status = "
                               "'active' GROUP BY agent_id")
    assert sorted(count for _, count in loads) == [2, 2, 2]
    active = await cluster.rows("SELECT id FROM conversations WHERE status = 'active'")
    assert sorted(row["id"] for row in active) == sorted(opened[:6])
    ann_chat = next(f["conversation"]["id"] for f in staff[0].frames if f["type"] == "assigned")
    await staff[0].send("close", conversation_id=ann_chat)
    await tabs[6].until(lambda f: f["type"] == "status" and f["status"] == "active",
                        "the next in the queue taken")
    assert tabs[7].of_type("status")[-1]["status"] == "queued"


async def test_a_process_killed_mid_burst_loses_nothing_acked_and_is_noticed_within_10_s(
        cluster: Cluster) -> None:
    sue = await agent(cluster.servers[0], cluster.agent("sue@example.com", "Sue",
                                                        role="supervisor"), available=False)
    ann_token = cluster.agent("ann@example.com", "Ann", capacity=10)
    ann = await agent(cluster.servers[2], ann_token)
    await sue.until(lambda f: f["type"] == "team" and any(
        a["name"] == "Ann" and a["online"] for a in f["agents"]), "Ann online")
    tabs = [await visitor(cluster.servers[1 + n % 2]) for n in range(4)]

    async def burst(tab: Client, n: int) -> None:
        for k in range(100):
            await tab.send("message", client_id=f"b{n}-{k}", text=f"burst {n}.{k}")
    senders = [asyncio.ensure_future(burst(tab, n)) for n, tab in enumerate(tabs)]
    await acked(tabs[1], 30)  # on the process to be killed
    os.kill(cluster.servers[2].process.pid, signal.SIGKILL)
    await asyncio.gather(*senders, return_exceptions=True)
    await sue.until(lambda f: f["type"] == "team" and any(
        a["name"] == "Ann" and not a["online"] for a in f["agents"]),
        "Ann seen offline once her process is gone")
    for tab in tabs[::2]:  # on a process still running: every message acked
        await acked(tab, 100)
    stored = {(r["sender_key"], r["client_id"]): (r["conversation_id"], r["seq"])
              for r in await cluster.rows("SELECT sender_key, client_id, conversation_id, seq "
                                          "FROM messages WHERE client_id IS NOT NULL")}
    for tab in tabs:
        me = f"visitor:{tab.of_type('welcome')[0]['visitor_id']}"
        for ack in tab.of_type("ack"):
            assert stored[(me, ack["client_id"])] == (ack["conversation_id"], ack["seq"])
    for conversation_id, last_seq in await cluster.rows("SELECT id, last_seq FROM conversations"):
        seqs = [r["seq"] for r in await cluster.rows(
            "SELECT seq FROM messages WHERE conversation_id = $1 AND seq IS NOT NULL "
            "ORDER BY seq", conversation_id)]
        assert seqs == list(range(1, last_seq + 1))
    assert await ann.closed() is not None  # her socket went with the process


async def test_a_lost_redis_connection_closes_sockets_with_1013_and_they_resume(
        cluster: Cluster) -> None:
    ann_token = cluster.agent("ann@example.com", "Ann")
    ann = await agent(cluster.servers[0], ann_token)
    tab = await visitor(cluster.servers[1])
    await tab.send("message", client_id="c1", text="hello")
    conversation_id = (await acked(tab, 1))[0]["conversation_id"]
    await ann.until(lambda f: f["type"] == "assigned", "the chat")
    prefix = cluster.bus_url.partition("prefix=")[2]
    client = redis.Redis.from_url(REDIS)
    try:
        killed = 0
        for connection in await client.client_list(_type="pubsub"):
            if connection["name"] == f"chatserver-bus:{prefix}":
                killed += await client.client_kill_filter(_id=connection["id"])
        assert killed >= 2
    finally:
        await client.aclose()
    assert await tab.closed() == 1013
    assert await ann.closed() == 1013
    ann = await agent(cluster.servers[2], ann_token)  # reconnected to another process
    last_seq = max(seqs_seen(tab, conversation_id))
    await ann.send("message", conversation_id=conversation_id, client_id="a1", text="back")
    token = tab.of_type("welcome")[0]["token"]
    tab = await visitor(cluster.servers[0], token=token, conversation_id=conversation_id,
                        last_seq=last_seq)
    await tab.until(with_text("back"), "what was said while away")
