"""RFC 6455 without I/O: the server's side of the opening handshake, and frames read from a
client and written to it. No extensions are offered, so no frame may set a reserved bit.
`web/websocket_protocol.py` drives these over a connection."""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable

from websockets.frames import apply_mask  # the websockets library's C version

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_DATA = (CONT, TEXT, BINARY)
_CONTROL = (CLOSE, PING, PONG)
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Close codes a peer may send (RFC 6455 7.4.1; 1005, 1006 and 1015 are never sent).
_SENDABLE = frozenset((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014))


class HandshakeRefused(Exception):
    """The request is no WebSocket handshake this server can answer."""

    def __init__(self, status: int, reason: str, headers: tuple[tuple[bytes, bytes], ...] = ()):
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, headers


class ProtocolError(Exception):
    """The client broke the protocol: the connection closes with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def handshake_key(method: str, http_version: str,
                  headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The `Sec-WebSocket-Key` of a valid opening handshake (its `Upgrade` and `Connection`
    the HTTP parser has checked), or HandshakeRefused."""
    if method != "GET" or http_version != "1.1":
        raise HandshakeRefused(400, "a WebSocket handshake is a GET request over HTTP/1.1")
    keys = [value for name, value in headers if name == b"sec-websocket-key"]
    versions = [value for name, value in headers if name == b"sec-websocket-version"]
    if versions != [b"13"]:
        raise HandshakeRefused(426, "Sec-WebSocket-Version must be 13",
                               ((b"Sec-WebSocket-Version", b"13"),))
    try:
        [key] = keys
        valid = len(base64.b64decode(key, validate=True)) == 16
    except (ValueError, binascii.Error):
        valid = False
    if not valid:
        raise HandshakeRefused(400, "Sec-WebSocket-Key must be one base64-encoded 16-byte value")
    return key


def accept_value(key: bytes) -> bytes:
    """`Sec-WebSocket-Accept` for a handshake's key."""
    return base64.b64encode(hashlib.sha1(key + _GUID).digest())


def subprotocols(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    return [token.strip() for name, value in headers if name == b"sec-websocket-protocol"
            for token in value.decode("latin-1").split(",") if token.strip()]


def frame(opcode: int, payload: bytes) -> bytes:
    """A whole, unmasked frame, as a server sends."""
    size = len(payload)
    if size < 126:
        return bytes((0x80 | opcode, size)) + payload
    if size < 0x10000:
        return struct.pack("!BBH", 0x80 | opcode, 126, size) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, size) + payload


def close_frame(code: int, reason: str = "") -> bytes:
    return frame(CLOSE, code.to_bytes(2, "big") + reason.encode()[:123])


def close_reason(payload: bytes) -> tuple[int, str]:
    """The code and reason of a close frame from a client (1005: it gave none)."""
    if not payload:
        return 1005, ""
    code = int.from_bytes(payload[:2], "big")
    if len(payload) == 1 or not (code in _SENDABLE or 3000 <= code < 5000):
        raise ProtocolError(1002, "invalid close code")
    try:
        return code, payload[2:].decode()
    except UnicodeDecodeError:
        raise ProtocolError(1007, "invalid UTF-8 in the close reason") from None


class FrameReader:
    """Turns the bytes a client sends into whole messages and control frames:
    `(opcode, payload)`, a message's opcode being TEXT or BINARY however it was fragmented.
    A message larger than `max_size` is refused (1009) as soon as a frame's header shows it,
    before its payload is held."""

    __slots__ = ("_buffer", "_fragments", "_opcode", "_size", "max_size")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._buffer: bytearray | None = None  # the start of a frame not yet whole
        self._fragments: list[bytes] | None = None  # of a fragmented message under way
        self._opcode = 0
        self._size = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buffer: bytes | bytearray = data
        if self._buffer is not None:  # appended to, not copied: a frame sent a byte at a
            self._buffer += data      # time costs its length, not its length squared
            buffer = self._buffer
        end, received = len(buffer), []
        at = 0
        while end - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            opcode, length, head = first & 0x0F, second & 0x7F, at + 2
            if first & 0x70:
                raise ProtocolError(1002, "reserved bits set")
            if not second & 0x80:
                raise ProtocolError(1002, "a client's frames must be masked")
            if length >= 126:
                width = 2 if length == 126 else 8
                if end - head < width:
                    break
                length = int.from_bytes(buffer[head:head + width], "big")
                head += width
            self._check(opcode, bool(first & 0x80), length)
            if end - head < 4 + length:
                break
            at = head + 4 + length
            payload = apply_mask(buffer[head + 4:at], buffer[head:head + 4])
            if opcode in _CONTROL or (first & 0x80 and self._fragments is None):  # whole
                received.append((opcode, payload))
            else:
                self._gather(opcode, bool(first & 0x80), payload, received)
        if at == end:
            self._buffer = None
        elif buffer is self._buffer:
            del self._buffer[:at]
        else:
            self._buffer = bytearray(buffer[at:])
        return received

    def _check(self, opcode: int, fin: bool, length: int) -> None:
        if opcode in _CONTROL:
            if length > 125 or not fin:
                raise ProtocolError(1002, "a control frame must be whole and at most 125 bytes")
            return
        if opcode not in _DATA:
            raise ProtocolError(1002, f"unknown opcode {opcode}")
        if (opcode == CONT) != (self._fragments is not None):
            raise ProtocolError(1002, "a fragment out of place")
        if self._size + length > self.max_size:
            raise ProtocolError(1009, f"a message over {self.max_size} bytes")

    def _gather(self, opcode: int, fin: bool, payload: bytes,
                received: list[tuple[int, bytes]]) -> None:
        if self._fragments is None:
            self._fragments, self._opcode = [], opcode
        self._fragments.append(payload)
        self._size += len(payload)
        if fin:
            received.append((self._opcode, b"".join(self._fragments)))
            self._fragments, self._size = None, 0
