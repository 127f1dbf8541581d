"""Frames sent in one turn of the event loop leave in one write, in order, and none is lost
when the connection closes right after them."""

from __future__ import annotations

import asyncio
import logging

import pytest
import websockets

from chatserver.web.coalescing import CoalescingTransport
from tests.web.conftest import InProcessServer


class Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def close(self) -> None:
        self.calls.append(("close", b""))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str) -> str:
        return f"real {name}"


async def test_writes_in_one_turn_leave_together_in_order() -> None:
    real = Recording()
    transport = CoalescingTransport(real)  # type: ignore[arg-type]
    transport.write(b"message ")
    transport.write(b"ack")
    assert real.calls == []
    await asyncio.sleep(0)
    assert real.calls == [("write", b"message ack")]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert real.calls[1:] == [("write", b"next")]


async def test_close_sends_what_is_waiting_first_and_nothing_after() -> None:
    real = Recording()
    transport = CoalescingTransport(real)  # type: ignore[arg-type]
    transport.write(b"error")
    transport.write(b"close frame")
    transport.close()
    await asyncio.sleep(0)
    assert real.calls == [("write", b"errorclose frame"), ("close", b"")]
    assert transport.get_extra_info("peername") == "real peername"


async def test_a_refused_socket_is_answered_without_an_error_in_the_log(
        server: InProcessServer) -> None:
    logged: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: logged.append(record.getMessage())  # type: ignore[method-assign]
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(handler)
    try:
        for headers in ({"Authorization": "Bearer cs_wrong"}, {}):
            with pytest.raises(websockets.InvalidStatus) as refused:
                await websockets.connect(server.ws + "/ws/agent", additional_headers=headers)
            assert refused.value.response.status_code == 401
        await asyncio.sleep(0.2)
    finally:
        uvicorn_log.removeHandler(handler)
    assert logged == []
