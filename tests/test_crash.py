"""kill -9 in the middle of a burst of messages: no acknowledged message is lost or doubled.

A real `chatserver serve` process takes bursts from several visitors at once (with an agent
connected, so system messages are numbered among them); it is killed with SIGKILL once about
half of the messages have been acknowledged, then started again on the same database. Every
acknowledged message must be there exactly once with the seq its ack gave, every
conversation's seqs must run 1..last_seq without a gap, and each visitor, resending all its
messages with the same client ids, must get the first ack again for those already stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import websockets

from chatserver.store.sqlite import sqlite_path
from tests.conftest import LiveServer, add_agent, start_server

VISITORS = 5
BURST = 200
ENV = {"CHATSERVER_VISITOR_MESSAGE_LIMIT": "0", "CHATSERVER_VISITOR_SESSION_LIMIT": "0"}


@dataclass
class Tab:
    """One visitor's socket and every ack it received."""

    ws: Any
    token: str
    visitor_id: str
    acks: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    errors: list[dict[str, Any]] = field(default_factory=list)

    def client_ids(self) -> list[str]:
        return [f"{self.visitor_id}-{n:03}" for n in range(BURST)]

    async def send_all(self, count: int = BURST) -> None:
        """The first `count` messages of the burst, all at once."""
        with contextlib.suppress(websockets.ConnectionClosed, OSError):
            for client_id in self.client_ids()[:count]:
                await self.ws.send(orjson.dumps({"type": "message", "client_id": client_id,
                                                 "text": f"message {client_id}"}).decode())

    async def read(self, counted: asyncio.Event | None = None, threshold: int = 0,
                   total: list[int] | None = None) -> None:
        """Record acks until the socket goes; set `counted` once `total` reaches `threshold`."""
        with contextlib.suppress(websockets.ConnectionClosed, OSError):
            async for raw in self.ws:
                frame = orjson.loads(raw)
                if frame["type"] == "ack":
                    self.acks[frame["client_id"]].append((frame["conversation_id"],
                                                           frame["seq"]))
                    if total is not None and counted is not None:
                        total[0] += 1
                        if total[0] >= threshold:
                            counted.set()
                elif frame["type"] == "error":
                    self.errors.append(frame)


async def visitor(server: LiveServer, token: str | None = None) -> tuple[Tab, dict[str, Any]]:
    ws = await websockets.connect(server.ws + "/ws/visitor", max_size=None)
    await ws.send(orjson.dumps({"type": "hello", "token": token}).decode())
    while True:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame["type"] == "welcome":
            return Tab(ws, frame["token"], frame["visitor_id"]), frame


async def agent(server: LiveServer, token: str) -> Any:
    ws = await websockets.connect(server.ws + "/ws/agent", max_size=None,
                                  additional_headers={"Authorization": f"Bearer {token}"})
    await ws.send(orjson.dumps({"type": "presence", "status": "available"}).decode())
    await ws.send(orjson.dumps({"type": "ping"}).decode())
    while orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "pong":
        pass
    return ws


async def drain(ws: Any) -> None:
    with contextlib.suppress(websockets.ConnectionClosed, OSError):
        async for _ in ws:
            pass


def stored(db_url: str) -> tuple[dict[tuple[str, str], list[tuple[int, int]]],
                                  dict[int, tuple[int, list[int]]]]:
    """Read the database as another process would: each message by (sender, client_id), and
    each conversation's last_seq with its seqs in order."""
    db = sqlite3.connect(sqlite_path(db_url))
    try:
        by_client_id: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
        for sender, client_id, conversation_id, seq in db.execute(
                "SELECT sender_key, client_id, conversation_id, seq FROM messages "
                "WHERE client_id IS NOT NULL ORDER BY id"):
            by_client_id[(sender, client_id)].append((conversation_id, seq))
        conversations = {}
        for conversation_id, last_seq in db.execute("SELECT id, last_seq FROM conversations"):
            seqs = [seq for (seq,) in db.execute(
                "SELECT seq FROM messages WHERE conversation_id = ? AND seq IS NOT NULL "
                "ORDER BY seq", (conversation_id,))]
            conversations[conversation_id] = (last_seq, seqs)
        return by_client_id, conversations
    finally:
        db.close()


def assert_durable(db_url: str, tabs: list[Tab]) -> dict[tuple[str, str], list[tuple[int, int]]]:
    by_client_id, conversations = stored(db_url)
    for tab in tabs:
        for client_id, acks in tab.acks.items():
            assert len(set(acks)) == 1, f"{client_id} was acked differently: {acks}"
            assert by_client_id.get((f"visitor:{tab.visitor_id}", client_id)) == [acks[0]], (
                f"acked message {client_id} {acks[0]} is stored as "
                f"{by_client_id.get((f'visitor:{tab.visitor_id}', client_id))}")
    for (sender, client_id), copies in by_client_id.items():
        assert len(copies) == 1, f"{sender} {client_id} is stored {len(copies)} times"
    for conversation_id, (last_seq, seqs) in conversations.items():
        assert seqs == list(range(1, last_seq + 1)), (
            f"conversation {conversation_id}: last_seq {last_seq}, seqs with gaps or extras")
    return by_client_id


async def test_kill_9_mid_burst_loses_no_acknowledged_message(
        db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    agent_token = add_agent(db_url, "ann@example.com", "Ann", capacity=VISITORS)
    server = await asyncio.to_thread(start_server, db_url, log, env=ENV)
    try:
        staff = await agent(server, agent_token)
        watcher = asyncio.ensure_future(drain(staff))
        tabs = [(await visitor(server))[0] for _ in range(VISITORS)]
        half, total = asyncio.Event(), [0]
        readers = [asyncio.ensure_future(tab.read(half, VISITORS * BURST // 2, total))
                   for tab in tabs]
        # three quarters sent, killed once half are acked: however fast the server, the
        # kill comes mid-burst (the last quarter is never sent) with writes in flight
        senders = [asyncio.ensure_future(tab.send_all(BURST * 3 // 4)) for tab in tabs]
        await asyncio.wait_for(half.wait(), 15)
        os.kill(server.process.pid, signal.SIGKILL)
        killed_at = total[0]
        assert await asyncio.to_thread(server.process.wait, 10) == -signal.SIGKILL
        await asyncio.wait_for(asyncio.gather(*readers, *senders, watcher), 10)
    finally:
        server.stop()
    acked = sum(len(tab.acks) for tab in tabs)
    assert acked < VISITORS * BURST, "the server finished the burst before it was killed"
    assert killed_at >= VISITORS * BURST // 2
    assert all(tab.errors == [] for tab in tabs), [tab.errors for tab in tabs]
    before = assert_durable(db_url, tabs)
    first_acks = {tab.visitor_id: {k: v[0] for k, v in tab.acks.items()} for tab in tabs}

    server = await asyncio.to_thread(start_server, db_url, log, env=ENV)
    try:
        again = []
        for tab in tabs:
            resumed, welcome = await visitor(server, tab.token)
            assert resumed.visitor_id == tab.visitor_id
            assert welcome["conversation"] is not None
            again.append(resumed)
        readers = [asyncio.ensure_future(tab.read()) for tab in again]
        await asyncio.gather(*(tab.send_all() for tab in again))

        async def all_acked() -> None:
            while any(len(tab.acks) < BURST for tab in again):
                await asyncio.sleep(0.02)
        await asyncio.wait_for(all_acked(), 15)
        for tab in again:
            await tab.ws.close()
        await asyncio.wait_for(asyncio.gather(*readers), 5)
    finally:
        server.stop()

    for tab in again:
        assert tab.errors == []
        assert sorted(tab.acks) == tab.client_ids()
        for client_id, acks in tab.acks.items():
            assert len(acks) == 1
            first = first_acks[tab.visitor_id].get(client_id)
            if first is not None:  # acknowledged before the crash: the same ack again
                assert acks[0] == first, f"{client_id} was acked {first}, then {acks[0]}"
            kept = before.get((f"visitor:{tab.visitor_id}", client_id))
            if kept is not None:  # stored (perhaps unacked) before the crash: kept as it was
                assert acks[0] == kept[0]
    after = assert_durable(db_url, again)
    for tab in again:
        sender = f"visitor:{tab.visitor_id}"
        assert sorted(c for s, c in after if s == sender) == tab.client_ids()
