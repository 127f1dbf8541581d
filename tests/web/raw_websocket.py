"""A WebSocket client written by hand, for what a library client would never send."""

from __future__ import annotations

import asyncio
import contextlib

from tests.web.conftest import InProcessServer

MASK = b"\x37\xfa\x21\x3d"
HANDSHAKE = {"Host": "127.0.0.1", "Upgrade": "websocket", "Connection": "Upgrade",
             "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13",
             "Origin": "http://127.0.0.1"}


def masked(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> bytes:
    """A client's frame, masked as the protocol requires."""
    size = len(payload)
    head = bytes(((0x80 if fin else 0) | rsv | opcode,))
    if size < 126:
        head += bytes((0x80 | size,))
    elif size < 0x10000:
        head += bytes((0x80 | 126,)) + size.to_bytes(2, "big")
    else:
        head += bytes((0x80 | 127,)) + size.to_bytes(8, "big")
    return head + MASK + bytes(b ^ MASK[n % 4] for n, b in enumerate(payload))


class RawSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 status: int, head: str) -> None:
        self.reader, self.writer, self.status, self.head = reader, writer, status, head

    @classmethod
    async def open(cls, server: InProcessServer, path: str = "/ws/visitor",
                   **headers: str | None) -> RawSocket:
        """Send a handshake (HANDSHAKE's headers, changed or left out by `headers`) and read
        the response's head."""
        reader, writer = await asyncio.open_connection("127.0.0.1", server.settings.port)
        sent = {**HANDSHAKE, **{k.replace("_", "-"): v for k, v in headers.items()}}
        writer.write(f"GET {path} HTTP/1.1\r\n".encode() + b"".join(
            f"{k}: {v}\r\n".encode() for k, v in sent.items() if v is not None) + b"\r\n")
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).decode()
        return cls(reader, writer, int(head.split()[1]), head)

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def frame(self) -> tuple[int, bytes]:
        """The server's next frame (unmasked): its opcode and payload."""
        first, second = await asyncio.wait_for(self.reader.readexactly(2), 5)
        size = second & 0x7F
        if size >= 126:
            size = int.from_bytes(await self.reader.readexactly(2 if size == 126 else 8), "big")
        return first & 0x0F, await asyncio.wait_for(self.reader.readexactly(size), 5)

    async def closed(self) -> bool:
        """Whether the server has closed the connection (what is left unread is skipped)."""
        await asyncio.wait_for(self.reader.read(), 5)
        return self.reader.at_eof()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()
