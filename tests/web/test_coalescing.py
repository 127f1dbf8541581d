"""Frames sent in one turn of the event loop leave in one write at the start of the next, in
order (an agent's socket sends a turn's first frame at once), and none is lost when the
connection closes right after them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading

import pytest
import websockets

from chatserver.config import Settings
from chatserver.web import coalescing
from chatserver.web.coalescing import CoalescingTransport
from chatserver.web.websocket_frames import PING, TEXT
from chatserver.web.websocket_protocol import WebSocketProtocol
from tests.web.conftest import InProcessServer, agent, visitor
from tests.web.raw_websocket import HANDSHAKE, masked


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

    def get_write_buffer_size(self) -> int:
        return 0  # all sent

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


async def test_a_prompt_transport_sends_a_turn_s_first_write_at_once() -> None:
    real = Recording()
    transport = CoalescingTransport(real)  # type: ignore[arg-type]
    transport.prompt = True
    transport.write(b"copy")
    assert real.calls == [("write", b"copy")]
    late = asyncio.get_running_loop().call_soon  # runs next turn, before the flush below
    late(transport.write, b"then ")
    transport.write(b"news, ")
    assert real.calls == [("write", b"copy")]
    await asyncio.sleep(0)  # a new turn's first write, but behind what waits: it waits too
    assert real.calls[1:] == [("write", b"news, then ")]
    transport.write(b"next turn")
    assert real.calls[2:] == [("write", b"next turn")]


async def test_the_agent_has_a_visitor_s_words_first_and_the_echo_and_ack_go_in_one_write(
        server: InProcessServer, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[bytes] = []  # what reached the sockets, in order

    class Recorder:
        def __init__(self, real: asyncio.Transport) -> None:
            self.real = real

        def write(self, data: bytes) -> None:
            writes.append(data)
            self.real.write(data)

        def __getattr__(self, name: str) -> object:
            return getattr(self.real, name)
    connection_made = WebSocketProtocol.connection_made
    monkeypatch.setattr(WebSocketProtocol, "connection_made",
                        lambda self, transport: connection_made(self, Recorder(transport)))
    staff = await agent(server, server.agent("ann@example.com", "Ann"))
    peer, _ = await visitor(server)
    await peer.send("message", client_id="c1", text="hello")
    await staff.expect("assigned")
    await peer.send("message", client_id="c2", text="are you there?")
    await peer.expect("ack", client_id="c2")
    await peer.expect("message", text="are you there?")
    await staff.expect("message", text="are you there?")
    carrying = [data for data in writes if b'"text":"are you there?"' in data]
    assert len(carrying) == 2
    to_agent, to_visitor = carrying
    assert b'"type":"ack"' not in to_agent
    if server.settings.bus_url == "memory://":
        assert b'"type":"message"' in to_visitor and b'"type":"ack"' in to_visitor
    else:  # the news comes back from the broker later: the ack, sent at commit, is ahead
        acked = next(n for n, data in enumerate(writes) if b'"client_id":"c2"' in data)
        assert acked < writes.index(to_agent)


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


async def test_the_server_log_names_each_socket_once(server: InProcessServer) -> None:
    logged: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: logged.append(record.getMessage())  # type: ignore[method-assign]
    uvicorn_log = logging.getLogger("uvicorn.error")
    level = uvicorn_log.level
    uvicorn_log.addHandler(handler)
    uvicorn_log.setLevel(logging.INFO)
    try:
        await visitor(server)  # open, and welcomed
    finally:
        uvicorn_log.removeHandler(handler)
        uvicorn_log.setLevel(level)
    assert len(logged) == 1 and '"WebSocket /ws/visitor" [accepted]' in logged[0], logged


async def test_frames_go_straight_to_the_connection_whole_and_in_order(
        server: InProcessServer, monkeypatch: pytest.MonkeyPatch) -> None:
    direct: list[bytes] = []
    send_frame = WebSocketProtocol.send_frame

    def recording(self: WebSocketProtocol, data: bytes) -> bool:
        direct.append(data)
        return send_frame(self, data)
    monkeypatch.setattr(WebSocketProtocol, "send_frame", recording)
    peer, _ = await visitor(server)
    texts = [f"héllo {n} — ✓" for n in range(1, 4)]
    for n, text in enumerate(texts, 1):
        await peer.send("message", client_id=f"c{n}", text=text)
    acks = [await peer.expect("ack") for _ in texts]
    assert [ack["seq"] for ack in acks] == [1, 2, 3]
    echoes = [await peer.expect("message", seq=seq) for seq in (1, 2, 3)]
    assert [echo["text"] for echo in echoes] == texts
    assert [f["seq"] for f in peer.seen if f["type"] == "message"] == [1, 2, 3]  # in order
    assert sum(b'"type":"ack"' in data for data in direct) == 3  # past the ASGI layers


# --- a client that does not read -----------------------------------------------------------

BOUND = 1024 * 1024  # the high-water mark (64 KiB) and one read's worth of answers, amply


def open_visitor_socket(server: InProcessServer) -> socket.socket:
    """A raw visitor socket that has said hello and will read nothing more."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # hardly anything is absorbed
    sock.connect(("127.0.0.1", server.settings.port))
    sock.sendall(b"GET /ws/visitor HTTP/1.1\r\n" + b"".join(
        f"{name}: {value}\r\n".encode() for name, value in HANDSHAKE.items()) + b"\r\n")
    handshake = b""
    while b"\r\n\r\n" not in handshake:
        handshake += sock.recv(1)
    assert handshake.startswith(b"HTTP/1.1 101")
    sock.sendall(masked(TEXT, b'{"type": "hello", "token": null}'))
    return sock


def flood(sock: socket.socket, chunk: bytes, megabytes: int) -> None:
    """Send `chunk` over and over, until the server stops taking it or the socket is shut."""
    with contextlib.suppress(OSError):
        for _ in range(megabytes * 1024 * 1024 // len(chunk)):
            sock.sendall(chunk)


async def server_side(server: InProcessServer) -> tuple[bool, bool, int]:
    """Whether the server can write to the visitor's socket, whether it reads it, and how
    much it holds to send it."""
    async def look() -> tuple[bool, bool, int]:
        [ws] = [c for c in server.server.server_state.connections
                if isinstance(c, WebSocketProtocol)]
        transport = ws.transport
        return ws.writable.is_set(), transport.is_reading(), transport.get_write_buffer_size()
    loop = server.server.servers[0].get_loop()
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(look(), loop))


@pytest.mark.parametrize("frames", [
    [masked(PING, b"p" * 125)],  # answered by uvicorn itself with pongs
    # frames the application takes without answering, each of which let reading resume
    [masked(TEXT, b'{"type": "typing", "active": true}')] + [masked(PING, b"p" * 125)] * 100,
], ids=["pings", "pings after each typing frame"])
async def test_a_client_that_floods_and_never_reads_is_no_longer_read_and_costs_little(
        server: InProcessServer, frames: list[bytes]) -> None:
    sock = open_visitor_socket(server)
    chunk = b"".join(frames) * (64 * 1024 // len(b"".join(frames)) + 1)
    sender = threading.Thread(target=flood, args=(sock, chunk, 64))
    sender.start()
    try:
        writing, looks = True, 0
        while looks < 50:  # until the server cannot send any more, then a while longer
            assert sender.is_alive(), "the server read 64 MB from a client that reads nothing"
            writing, reading, buffered = await server_side(server)
            assert buffered <= BOUND, f"the server holds {buffered} bytes for one client"
            assert writing or not reading, "the server reads what it cannot answer"
            looks += not writing
            await asyncio.sleep(0.01)
    finally:
        sock.shutdown(socket.SHUT_RDWR)
        sender.join(10)
        sock.close()


async def test_a_client_that_floods_and_never_reads_is_disconnected_by_the_keepalive(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its pongs unread, the keepalive closes it; what the server holds for it cannot be
    sent, and the connection is dropped `CLOSE_LINGER` later, not kept for good."""
    monkeypatch.setattr(coalescing, "CLOSE_LINGER", 0.5)
    server = InProcessServer(settings)
    server.server.config.ws_ping_interval = server.server.config.ws_ping_timeout = 0.5
    server.start()
    sock = open_visitor_socket(server)
    sender = threading.Thread(target=flood, args=(sock, masked(PING, b"p" * 125) * 512, 64))
    try:
        sender.start()
        sender.join(30)  # the flood ends when the server drops the connection
        assert not sender.is_alive(), "a client that reads nothing is still connected"
    finally:
        with contextlib.suppress(OSError):  # gone already, unless the test failed
            sock.shutdown(socket.SHUT_RDWR)
        sender.join(10)
        sock.close()
        server.stop()
