"""schemathesis against a running server with an admin's token: no answer may be a 5xx or
differ from /api/openapi.json, for valid requests and for wrong ones. Deterministic
(derandomized) and bounded (a few examples per operation and mode)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chatserver.domain import webhook
from tests.web.conftest import InProcessServer, agent, visitor

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]
EXAMPLES = 12
# Left out: they would take away the admin the rest of the run acts as (revoking its own token,
# or disabling or demoting itself), after which every other answer is only a 401 or a 403.
LEFT_OUT = {"DELETE /api/tokens/{id}", "PATCH /api/agents/{id}"}


SECRET = "whsec_fuzzing"  # every webhook's secret: the fuzzing signs its bodies and gets in
SECRETS = {f"{name}_secret": SECRET for name in (
    "webhook", "shopify_webhook", "woocommerce_webhook", "stripe_webhook")}
SHOP_SIGNATURES = {"/webhooks/shopify": "X-Shopify-Hmac-Sha256",
                   "/webhooks/woocommerce": "X-WC-Webhook-Signature"}


def signatures(path: str, raw: bytes) -> dict[str, str]:
    """The headers that sign `raw` as each sender does (docs/shops.md, docs/stripe.md)."""
    now = str(int(time.time()))
    if path == "/webhooks/orders":
        return {"X-Chatserver-Timestamp": now,
                "X-Chatserver-Signature": webhook.sign(SECRET, now, raw)}
    if path == "/webhooks/stripe":
        mac = hmac.new(SECRET.encode(), now.encode() + b"." + raw, hashlib.sha256)
        return {"Stripe-Signature": f"t={now},v1={mac.hexdigest()}"}
    mac = hmac.new(SECRET.encode(), raw, hashlib.sha256)
    return {SHOP_SIGNATURES[path]: base64.b64encode(mac.digest()).decode()}


def send_signed(case: schemathesis.Case, base_url: str) -> httpx.Response:
    """A webhook's case, its body signed (schemathesis cannot: the signature is over the
    exact bytes sent)."""
    raw = json.dumps(case.body).encode() if isinstance(case.body, dict | list | str | int |
                                                       float | bool) else b""
    headers = {**(case.headers or {}), "Content-Type": "application/json",
               **signatures(case.path, raw)}
    return httpx.post(base_url + case.path, content=raw, headers=headers, timeout=10)


def fuzz(operation: Any, base_url: str, headers: dict[str, str], mode: GenerationMode) -> None:
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        if case.path.startswith("/webhooks/"):
            case.validate_response(send_signed(case, base_url), checks=CHECKS)
        else:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS,
                                   timeout=10)
    check()


async def some_records(server: InProcessServer, token: str) -> None:
    """A chat with a reply and a note, an order and store credit: the ids the fuzzing tries
    first (1, 2, ...) then name real records, whose answers are checked too."""
    admin = await agent(server, token)
    peer, _ = await visitor(server)
    await peer.send("message", client_id="c1", text="where is my order?")
    conversation_id = (await peer.expect("ack", client_id="c1"))["conversation_id"]
    await admin.expect("assigned")
    for client_id, private in (("a1", False), ("a2", True)):
        await admin.send("message", conversation_id=conversation_id, client_id=client_id,
                         text="on its way", private=private)
        await admin.expect("ack", client_id=client_id)
    api = {"Authorization": f"Bearer {token}"}
    order = httpx.post(server.url + "/api/orders", headers=api, json={
        "external_id": "A-1", "email": "maya@example.com", "product": "Mug",
        "amount_cents": 1999, "currency": "EUR"})
    assert order.status_code == 201, order.text
    credit = httpx.post(server.url + f"/api/customers/{order.json()['customer_id']}/credits",
                        headers={**api, "Idempotency-Key": "k1"},
                        json={"amount_cents": 500, "currency": "EUR", "reason": "late"})
    assert credit.status_code == 201, credit.text
    await peer.close()
    await admin.close()


async def test_every_operation_answers_as_described(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(**SECRETS)
    [token] = server.staff(("admin@example.com", "Ada", "admin"))
    await some_records(server, token)
    schema = schemathesis.openapi.from_url(server.url + "/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    failures = []
    for operation in operations:
        if operation.label in LEFT_OUT:
            continue
        for mode in GenerationMode:
            try:
                fuzz(operation, server.url, {"Authorization": f"Bearer {token}"}, mode)
            except (Failure, FailureGroup) as failure:
                failures.append(f"{operation.label} ({mode.value}): {failure}")
            except Unsatisfiable:  # nothing to send wrong: no parameters and no body
                assert mode == GenerationMode.NEGATIVE
    assert not failures, "\n\n".join(failures)  # all at once: each is a bug to fix
