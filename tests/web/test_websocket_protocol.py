"""The sockets' WebSocket protocol, as a client that breaks it would find it: handshakes it
cannot answer, fragments, control frames, broken frames, the close handshake, keepalive."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from chatserver.config import Settings
from chatserver.web.websocket_frames import BINARY, CLOSE, CONT, PING, PONG, TEXT
from tests.backends import query
from tests.web.conftest import InProcessServer
from tests.web.raw_websocket import RawSocket, masked

HELLO = masked(TEXT, b'{"type": "hello", "token": null}')
Connect = Callable[..., Awaitable[RawSocket]]


@pytest.fixture
async def connect(server: InProcessServer) -> AsyncIterator[Connect]:
    """Open raw sockets to `server` (handshake headers changed by keywords); closed after."""
    opened: list[RawSocket] = []

    async def connect(**headers: str | None) -> RawSocket:
        opened.append(await RawSocket.open(server, **headers))
        return opened[-1]
    yield connect
    for raw in opened:
        await raw.close()


async def test_a_handshake_of_an_older_version_gets_426_naming_the_version_spoken(
        connect: Connect) -> None:
    raw = await connect(Sec_WebSocket_Version="8")
    assert raw.status == 426 and "sec-websocket-version: 13\r\n" in raw.head.lower()
    assert await raw.closed()


async def test_a_handshake_without_a_key_gets_400_saying_so(connect: Connect) -> None:
    raw = await connect(Sec_WebSocket_Key=None)
    assert raw.status == 400
    assert b"Sec-WebSocket-Key" in await raw.reader.read()


async def test_the_handshake_is_answered_for_its_key_and_declines_compression(
        connect: Connect) -> None:
    raw = await connect(Sec_WebSocket_Extensions="permessage-deflate")
    assert raw.status == 101
    assert "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in raw.head
    assert "extensions" not in raw.head.lower()  # frames stay uncompressed
    raw.send(HELLO)
    assert (await raw.frame())[0] == TEXT


async def test_a_hello_in_fragments_with_a_ping_between_is_one_hello(
        connect: Connect) -> None:
    raw = await connect()
    raw.send(masked(TEXT, b'{"type": "hel', fin=False) + masked(PING, b"are you there") +
             masked(CONT, b'lo", "token": ', fin=False) + masked(CONT, b"null}"))
    assert await raw.frame() == (PONG, b"are you there")
    opcode, welcome = await raw.frame()
    assert opcode == TEXT and b'"type":"welcome"' in welcome


@pytest.mark.parametrize("frame, code", [
    (bytes.fromhex("8110") + b'{"type": "ping"}', 1002),  # not masked
    (masked(TEXT, b'{"type": "ping"}', rsv=0x40), 1002),  # compressed: never agreed
    (masked(TEXT, '{"type": "message", "client_id": "c1", "text": "é"}'.encode("latin-1")),
     1007),  # not UTF-8
    (masked(CLOSE, (1005).to_bytes(2, "big")), 1002),  # a code no one may send
    (masked(BINARY, b"x" * 70_000)[:14], 1009),  # its header alone: over 64 KiB
], ids=["unmasked", "reserved bit", "not UTF-8", "close code", "too large"])
async def test_a_broken_frame_closes_the_socket_with_its_code_and_stores_nothing(
        server: InProcessServer, connect: Connect, frame: bytes, code: int) -> None:
    raw = await connect()
    raw.send(HELLO)
    assert (await raw.frame())[0] == TEXT  # welcome
    raw.send(frame)
    opcode, payload = await raw.frame()
    assert opcode == CLOSE and int.from_bytes(payload[:2], "big") == code
    assert await raw.closed()
    assert query(server.settings.database_url, "SELECT COUNT(*) FROM messages") == [(0,)]


async def test_a_client_s_close_is_echoed_and_the_server_ends_the_connection(
        connect: Connect) -> None:
    raw = await connect()
    raw.send(HELLO)
    assert (await raw.frame())[0] == TEXT
    raw.send(masked(CLOSE, (4000).to_bytes(2, "big") + b"bye"))
    assert await raw.frame() == (CLOSE, (4000).to_bytes(2, "big") + b"bye")
    assert await raw.closed()


async def test_the_server_s_close_ends_the_connection_at_the_client_s_answer(
        connect: Connect) -> None:
    raw = await connect()
    raw.send(masked(TEXT, b'{"type": "ping"}'))  # before hello: refused, closed with 1008
    assert (await raw.frame())[0] == TEXT  # the error
    opcode, payload = await raw.frame()
    assert opcode == CLOSE and int.from_bytes(payload[:2], "big") == 1008
    # a frame the server no longer reads, then the answer, in one packet
    raw.send(masked(TEXT, b'{"type": "ping"}') + masked(CLOSE, (1000).to_bytes(2, "big")))
    assert await raw.closed()  # at once, not after the server's wait for an answer (10 s)


async def test_a_client_answering_the_keepalive_stays_and_one_that_stops_is_closed_with_1011(
        settings: Settings) -> None:
    server = InProcessServer(settings)
    server.server.config.ws_ping_interval = server.server.config.ws_ping_timeout = 0.2
    server.start()
    try:
        raw = await RawSocket.open(server)
        raw.send(HELLO)
        assert (await raw.frame())[0] == TEXT
        for _ in range(3):  # each ping comes an interval after the last one's pong
            opcode, payload = await raw.frame()
            assert opcode == PING and len(payload) == 4
            raw.send(masked(PONG, payload))
        assert (await raw.frame())[0] == PING  # not answered this time
        opcode, payload = await raw.frame()
        assert opcode == CLOSE and int.from_bytes(payload[:2], "big") == 1011
        assert await raw.closed()
        await raw.close()
    finally:
        server.stop()
