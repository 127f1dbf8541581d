"""A server killed (SIGKILL) with webhook deliveries still to send sends them once started
again: they were written with the changes they report, not kept in memory."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.conftest import add_agent, free_port, start_server
from tests.web.receiver import receiver

ENV = {"CHATSERVER_WEBHOOKS_ALLOW_PRIVATE": "1"}  # the receiver is on this machine


def visitor_writes(ws_url: str, texts: list[str]) -> None:
    with connect(ws_url + "/ws/visitor") as ws:
        ws.send(json.dumps({"type": "hello", "name": "Maya"}))
        for n, text in enumerate(texts):
            ws.send(json.dumps({"type": "message", "client_id": f"c{n}", "text": text}))
        acks = 0
        while acks < len(texts):
            acks += json.loads(ws.recv(timeout=10))["type"] == "ack"


def all_tried(url: str, token: str, count: int) -> None:
    """Wait until `count` deliveries have each been tried (and refused: nobody listens)."""
    deadline = time.monotonic() + 15
    while True:
        [endpoint] = httpx.get(url + "/api/webhook-endpoints", timeout=5, headers={
            "Authorization": f"Bearer {token}"}).json()["endpoints"]
        tried = [d for d in endpoint["deliveries"] if d["tried_at"] is not None]
        if len(tried) == count:
            assert all(d["status"] == "pending" for d in tried)
            return
        assert time.monotonic() < deadline, endpoint["deliveries"]
        time.sleep(0.05)


def test_deliveries_pending_when_the_server_is_killed_are_sent_after_a_restart(
        db_url: str, tmp_path: Path) -> None:
    token = add_agent(db_url, "ada@example.com", "Ada", "admin")
    port = free_port()  # the receiver's, down until the server is killed
    server = start_server(db_url, tmp_path / "server.log", env=ENV)
    try:
        made = httpx.post(server.url + "/api/webhook-endpoints", timeout=5,
                          headers={"Authorization": f"Bearer {token}"},
                          json={"url": f"http://127.0.0.1:{port}/hooks",
                                "events": ["conversation.created", "message.created"]})
        assert made.status_code == 201, made.text
        visitor_writes(server.ws, ["hello", "anyone?", "my order 1042"])
        all_tried(server.url, token, 4)
        os.kill(server.process.pid, signal.SIGKILL)
        assert server.process.wait(10) == -signal.SIGKILL
    finally:
        server.stop()
    with receiver(port=port) as shop:
        server = start_server(db_url, tmp_path / "server.log", env=ENV)
        try:
            got = shop.arrived(4, timeout=20)  # each retry is due within 6 s
        finally:
            server.stop()
    assert sorted(r.event["type"] for r in got) == ["conversation.created"] + [
        "message.created"] * 3
    assert len({r.headers["webhook-id"] for r in got}) == 4
    assert sorted(r.event["data"]["text"] for r in got if r.event["type"] == "message.created"
                  ) == ["anyone?", "hello", "my order 1042"]
