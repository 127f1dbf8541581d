"""A webhook receiver for tests: a real HTTP server on a free port, in a thread, that keeps
every request it gets and answers as told (fail the first few, or hang until released)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        found: dict[str, Any] = orjson.loads(self.body)
        return found


@dataclass
class Receiver:
    url: str = ""
    failing: int = 0  # the first this many requests are answered 500
    hanging: bool = False  # no answer until the test ends
    answer: bytes = b"thanks"  # the body of a 200
    requests: list[Received] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    released: threading.Event = field(default_factory=threading.Event)

    def arrived(self, count: int, timeout: float = 10) -> list[Received]:
        """The first `count` requests, once they have come (from sync code: a thread)."""
        with self.changed:
            came = self.changed.wait_for(lambda: len(self.requests) >= count, timeout)
        assert came, f"got {len(self.requests)} of {count} requests"
        return self.requests[:count]

    async def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        """The first `count` requests, once they have come (from a test's loop)."""
        return await asyncio.to_thread(self.arrived, count, timeout)


@contextmanager
def receiver(port: int = 0, **options: Any) -> Iterator[Receiver]:
    """A receiver listening on `port` (0: a free one) until the block ends."""
    kept = Receiver(**options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with kept.changed:
                kept.requests.append(Received({k.lower(): v for k, v in self.headers.items()},
                                              body))
                kept.changed.notify_all()
                failed = len(kept.requests) <= kept.failing
            if kept.hanging:
                kept.released.wait(30)
            self.send_response(500 if failed else 200)
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(b"try later" if failed else kept.answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    kept.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield kept
    finally:
        kept.released.set()
        server.shutdown()
        server.server_close()
