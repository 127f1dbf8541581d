"""A local Stripe for the tests: a real HTTP server on a free port, in a thread, serving the
one endpoint the product calls, `POST /v1/refunds`, as Stripe documents it
(https://docs.stripe.com/api/refunds/create, .../idempotent_requests, .../errors):

- the secret key as `Authorization: Bearer sk_...` (else 401, `invalid_request_error`);
- a form-encoded body: `payment_intent` or `charge`, `amount`, `metadata[...]`;
- an `Idempotency-Key` header: the same key with the same body answers what it answered the
  first time (one refund), with another body 400 `idempotency_error`;
- the answer: a Refund object (`id` "re_...", `object` "refund", `amount`, `currency`,
  `status`, `payment_intent`, `charge`, `metadata`, `created`), or an error
  `{"error": {"type", "code", "message"}}` with Stripe's status (400, 402...).

It keeps every request, and can be told to refuse (`refuse`), to make refunds in another
status (`status`), or to cut the connection without an answer after making the refund
(`drop`: the answer lost on the way back)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import orjson

CHARGE_REFUNDED = ("invalid_request_error", "charge_already_refunded",
                   "Charge ch_1 has already been refunded.")


@dataclass
class Seen:
    """One request Stripe got: its Idempotency-Key and its form."""

    key: str | None
    form: dict[str, str]


@dataclass
class FakeStripe:
    api_key: str
    url: str = ""
    status: str = "succeeded"  # what a new refund's status is
    refuse: tuple[str, str, str] | None = None  # (type, code, message): the next ones, 400
    drop: int = 0  # the next this many requests make their refund and get no answer
    requests: list[Seen] = field(default_factory=list)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    answered: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def refund(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.refuse is not None:
            kind, code, message = self.refuse
            return 400, {"error": {"type": kind, "code": code, "message": message}}
        made = {"id": f"re_{next(self.ids)}", "object": "refund", "amount": int(form["amount"]),
                "currency": "usd", "status": self.status, "created": 1764800000,
                "payment_intent": form.get("payment_intent"), "charge": form.get("charge"),
                "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}}
        self.refunds[made["id"]] = made
        return 200, made

    def answer(self, authorization: str | None, key: str | None,
               form: dict[str, str]) -> tuple[int, bytes]:
        """What Stripe answers (the same again for a key it has seen with the same body)."""
        with self.lock:
            self.requests.append(Seen(key, form))
            if authorization != f"Bearer {self.api_key}":
                return 401, orjson.dumps({"error": {"type": "invalid_request_error",
                                                    "message": "Invalid API Key provided"}})
            if key is not None and key in self.answered:
                status, body, first = self.answered[key]
                if first != form:
                    return 400, orjson.dumps({"error": {
                        "type": "idempotency_error",
                        "message": "Keys for idempotent requests can only be used with the "
                                   "same parameters they were first used with."}})
                return status, body
            status, found = self.refund(form)
            body = orjson.dumps(found)
            if key is not None:
                self.answered[key] = (status, body, form)
            return status, body


@contextmanager
def fake_stripe(api_key: str = "sk_test_fake") -> Iterator[FakeStripe]:
    """A fake Stripe listening on a free port until the block ends."""
    kept = FakeStripe(api_key)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/v1/refunds":
                self.send_error(404)
                return
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            status, body = kept.answer(self.headers.get("authorization"),
                                       self.headers.get("idempotency-key"),
                                       dict(parse_qsl(raw.decode())))
            with kept.lock:
                dropping, kept.drop = kept.drop > 0, max(0, kept.drop - 1)
            if dropping:  # the refund is made; its answer never comes back
                self.close_connection = True
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Request-Id", "req_fake")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    kept.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield kept
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
