"""SIGTERM, as systemd or a rolling restart sends it: a real `chatserver serve` process closes
its visitor and agent sockets with 1012 (service restart: the clients reconnect elsewhere and
resume by seq), keeps every message it acknowledged, and exits."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import websockets

from tests.conftest import add_agent, start_server
from tests.test_crash import ENV, agent, assert_durable, visitor

SERVICE_RESTART = 1012


async def close_code(ws: Any) -> int | None:
    """The code the server closed `ws` with, once it has (whatever it sent before)."""
    try:
        async for _ in ws:
            pass
    except websockets.ConnectionClosed:
        pass
    return ws.close_code


async def test_sigterm_mid_burst_closes_both_sockets_with_1012_and_keeps_what_it_acked(
        db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    agent_token = add_agent(db_url, "ann@example.com", "Ann")
    server = await asyncio.to_thread(start_server, db_url, log, env=ENV)
    try:
        staff = await agent(server, agent_token)
        staff_closed = asyncio.ensure_future(close_code(staff))
        tab, _ = await visitor(server)
        first_ack, total = asyncio.Event(), [0]
        reader = asyncio.ensure_future(tab.read(first_ack, 1, total))
        sender = asyncio.ensure_future(tab.send_all())
        await asyncio.wait_for(first_ack.wait(), 15)
        server.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(reader, sender), 15)
        assert tab.ws.close_code == SERVICE_RESTART
        assert await asyncio.wait_for(staff_closed, 15) == SERVICE_RESTART
        exited = await asyncio.to_thread(server.process.wait, 15)
    finally:
        server.stop()
    assert exited in (0, -signal.SIGTERM), log.read_text()
    assert "Traceback" not in log.read_text(), log.read_text()
    assert tab.errors == [] and tab.acks
    assert_durable(db_url, [tab])
