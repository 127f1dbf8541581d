"""Reading a client's frames and answering its handshake, as RFC 6455 has them (its own
examples where it gives some)."""

from __future__ import annotations

import pytest

from chatserver.web.websocket_frames import (
    BINARY,
    CLOSE,
    CONT,
    PING,
    TEXT,
    FrameReader,
    HandshakeRefused,
    ProtocolError,
    accept_value,
    close_reason,
    frame,
    handshake_key,
    subprotocols,
)
from tests.web.raw_websocket import masked


def test_the_rfc_s_masked_hello_is_read() -> None:
    assert FrameReader(100).feed(bytes.fromhex("8185 37fa213d 7f9f4d5158")) == [(TEXT, b"Hello")]


def test_a_frame_split_anywhere_is_read_once_whole() -> None:
    payload = "é".encode() * 40_000  # a 64-bit length
    data = masked(TEXT, b"first") + masked(BINARY, payload) + masked(PING, b"?")
    for cut in (1, 2, 7, 9, 15, len(data) - 1):
        reader = FrameReader(100_000)
        assert reader.feed(data[:cut]) + reader.feed(data[cut:]) == [
            (TEXT, b"first"), (BINARY, payload), (PING, b"?")]
    reader = FrameReader(100_000)
    assert [f for byte in data for f in reader.feed(bytes((byte,)))] == [
        (TEXT, b"first"), (BINARY, payload), (PING, b"?")]


def test_a_fragmented_message_is_one_message_with_control_frames_between() -> None:
    reader = FrameReader(100)
    assert reader.feed(masked(TEXT, b"Hel", fin=False) + masked(PING, b"") +
                       masked(CONT, b"lo", fin=False)) == [(PING, b"")]
    assert reader.feed(masked(CONT, b"!")) == [(TEXT, b"Hello!")]
    assert reader.feed(masked(BINARY, b"next")) == [(BINARY, b"next")]


@pytest.mark.parametrize("data, code", [
    (bytes.fromhex("8105") + b"Hello", 1002),  # not masked
    (masked(TEXT, b"x", rsv=0x40), 1002),  # compressed, which was not offered
    (masked(0x3, b"x"), 1002),  # no such opcode
    (masked(CONT, b"x"), 1002),  # a continuation of nothing
    (masked(TEXT, b"a", fin=False) + masked(TEXT, b"b"), 1002),  # a new message mid-message
    (masked(PING, b"x" * 126), 1002),  # control frames carry at most 125 bytes
    (masked(PING, b"x", fin=False), 1002),  # and are never fragmented
    (masked(TEXT, b"x" * 101), 1009),
    (masked(TEXT, b"x" * 60, fin=False) + masked(CONT, b"x" * 60), 1009),
], ids=["unmasked", "reserved bit", "opcode", "lone continuation", "interleaved",
        "long ping", "fragmented ping", "too large", "too large in fragments"])
def test_a_broken_frame_is_a_protocol_error_with_its_close_code(data: bytes, code: int) -> None:
    with pytest.raises(ProtocolError) as error:
        FrameReader(100).feed(data)
    assert error.value.code == code


def test_a_message_too_large_is_refused_from_its_header_before_its_payload_arrives() -> None:
    header = masked(BINARY, b"x" * 70_000)[:10]
    with pytest.raises(ProtocolError) as error:
        FrameReader(65_536).feed(header)
    assert error.value.code == 1009


def test_close_frames_give_a_code_and_reason_or_a_protocol_error() -> None:
    assert close_reason(b"") == (1005, "")
    assert close_reason(b"\x03\xe8bye") == (1000, "bye")
    assert close_reason((4000).to_bytes(2, "big")) == (4000, "")
    for payload, code in ((b"\x03", 1002), ((1005).to_bytes(2, "big"), 1002),
                          ((999).to_bytes(2, "big"), 1002), (b"\x03\xe8\xff", 1007)):
        with pytest.raises(ProtocolError) as error:
            close_reason(payload)
        assert error.value.code == code


def test_frames_the_server_writes_have_the_shortest_length_that_fits() -> None:
    assert frame(TEXT, b"Hello") == bytes.fromhex("8105") + b"Hello"
    assert frame(BINARY, b"x" * 256)[:4] == bytes.fromhex("827e0100")
    assert frame(BINARY, b"x" * 65536)[:10] == bytes.fromhex("827f0000000000010000")
    assert frame(CLOSE, b"") == bytes.fromhex("8800")


HEADERS = [(b"host", b"example.com"), (b"upgrade", b"websocket"), (b"connection", b"Upgrade"),
           (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
           (b"sec-websocket-version", b"13"), (b"sec-websocket-protocol", b"chat, superchat")]


def test_the_rfc_s_handshake_is_accepted_with_its_accept_value() -> None:
    key = handshake_key("GET", "1.1", HEADERS)
    assert accept_value(key) == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert subprotocols(HEADERS) == ["chat", "superchat"]


@pytest.mark.parametrize("method, version, headers, status", [
    ("POST", "1.1", HEADERS, 400),
    ("GET", "1.0", HEADERS, 400),
    ("GET", "1.1", [h for h in HEADERS if h[0] != b"sec-websocket-key"], 400),
    ("GET", "1.1", [*HEADERS, (b"sec-websocket-key", b"AQIDBAUGBwgJCgsMDQ4PEA==")], 400),
    ("GET", "1.1", [h if h[0] != b"sec-websocket-key" else (h[0], b"c2hvcnQ=")
                    for h in HEADERS], 400),
    ("GET", "1.1", [h if h[0] != b"sec-websocket-version" else (h[0], b"8")
                    for h in HEADERS], 426),
], ids=["POST", "HTTP/1.0", "no key", "two keys", "short key", "old version"])
def test_a_handshake_this_server_cannot_answer_is_refused_with_a_status(
        method: str, version: str, headers: list[tuple[bytes, bytes]], status: int) -> None:
    with pytest.raises(HandshakeRefused) as refused:
        handshake_key(method, version, headers)
    assert refused.value.status == status
