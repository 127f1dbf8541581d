"""Slowloris: a connection whose request headers are not complete within HEADER_TIMEOUT is
answered 408 and closed, whether it sent half a request, nothing at all, or half of its
second request; whole requests and open WebSockets are not affected."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator

import pytest

from tests.web.conftest import InProcessServer, visitor

TIMEOUT = 0.5


@pytest.fixture
def server(serve: Callable[..., InProcessServer]) -> InProcessServer:
    return serve(header_timeout=TIMEOUT)


@pytest.fixture
def connect(server: InProcessServer) -> Iterator[Callable[[bytes], socket.socket]]:
    """A raw connection that has sent these bytes; closed after the test."""
    opened: list[socket.socket] = []

    def open_sending(data: bytes) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", server.settings.port), timeout=10)
        opened.append(sock)
        sock.sendall(data)
        return sock
    yield open_sending
    for sock in opened:
        sock.close()


def until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (at most 10 s)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


HALF = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
WHOLE = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_connections_with_half_sent_headers_are_answered_408_and_closed(
        connect: Callable[[bytes], socket.socket]) -> None:
    slow = [connect(HALF[:n]) for n in range(1, len(HALF), 2)]
    for sock in slow:
        assert until_closed(sock).startswith(b"HTTP/1.1 408 Request Timeout\r\n")


def test_a_connection_that_sends_nothing_is_closed_too(
        connect: Callable[[bytes], socket.socket]) -> None:
    assert until_closed(connect(b"")).startswith(b"HTTP/1.1 408")


def test_a_kept_alive_connection_whose_next_request_stalls_gets_its_first_answer_then_408(
        connect: Callable[[bytes], socket.socket]) -> None:
    answers = until_closed(connect(WHOLE + HALF))
    assert answers.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b'{"status":"ok"' in answers and answers.count(b"HTTP/1.1 408") == 1


async def test_an_open_websocket_outlives_the_header_timeout(
        server: InProcessServer, connect: Callable[[bytes], socket.socket]) -> None:
    peer, _ = await visitor(server)
    later = connect(HALF)  # its time runs out after the socket's would have
    assert (await asyncio.to_thread(until_closed, later)).startswith(b"HTTP/1.1 408")
    await peer.send("ping")
    await peer.expect("pong")
