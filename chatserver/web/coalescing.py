"""A WebSocket connection's writes, joined: what one turn of the event loop sends leaves in
one system call.

Writing every frame at once costs three system calls per message (the `message` to the agent
and to the visitor, the `ack`), and fifty for an agent whose conversations had fifty
messages in one commit. Here writes made in one turn of the loop are joined and leave
together at the start of the next, each connection's in the order of its first write: a
commit sends the news of its messages and the senders' `ack`s in one turn
(web/socket_session.py's `Ack`), so a visitor's echo and `ack` leave in one system call,
after the agent's copy.
"""

from __future__ import annotations

import asyncio
from typing import Any

# More than this waiting leaves at once, so that the transport's flow control sees it: one
# turn of the loop may read a client's socket many times over (32 reads of 256 KiB).
FLUSH_AT = 64 * 1024
# How long a closed connection may take to send what it still holds: a client that reads
# nothing would keep it (and its buffers) open for good.
CLOSE_LINGER = 10.0


class CoalescingTransport:
    """A transport whose `write`s wait for the next turn of the loop (up to `FLUSH_AT` bytes);
    the rest is the real transport's (`close` sends what is waiting first). With `prompt`,
    the first write of a turn leaves at once and only the turn's later ones wait."""

    __slots__ = ("_transport", "_waiting", "_waiting_bytes", "_wrote", "prompt")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._waiting: list[bytes] = []
        self._waiting_bytes = 0
        self.prompt = False
        self._wrote = False  # (prompt) a write left at once this turn

    def write(self, data: bytes) -> None:
        if self.prompt and not self._wrote and not self._waiting:
            self._wrote = True
            asyncio.get_running_loop().call_soon(self._next_turn)
            self._transport.write(data)
            return
        if not self._waiting:
            asyncio.get_running_loop().call_soon(self._flush)
        self._waiting.append(data)
        self._waiting_bytes += len(data)
        if self._waiting_bytes > FLUSH_AT:
            self._flush()

    def _next_turn(self) -> None:
        self._wrote = False

    def _flush(self) -> None:
        waiting, self._waiting, self._waiting_bytes = self._waiting, [], 0
        if waiting and not self._transport.is_closing():
            self._transport.write(b"".join(waiting))

    def close(self) -> None:
        self._flush()
        self._transport.close()
        if self._transport.get_write_buffer_size():
            asyncio.get_running_loop().call_later(CLOSE_LINGER, self._transport.abort)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._waiting_bytes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
