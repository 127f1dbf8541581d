"""Refunds fired at once over real connections: never more in all than the order, and one
Idempotency-Key never posts twice however many copies race."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from tests.backends import query
from tests.web.conftest import InProcessServer
from tests.web.test_commerce_api import staff


def headers(token: str, key: str | None = None) -> dict[str, str]:
    found = {"Authorization": f"Bearer {token}"}
    if key is not None:
        found["Idempotency-Key"] = key
    return found


async def new_order(client: httpx.AsyncClient, token: str, amount: int) -> dict[str, Any]:
    response = await client.post("/api/orders", headers=headers(token), json={
        "external_id": "1042", "email": "maya@example.com", "product": "Course Pro",
        "amount_cents": amount, "currency": "USD"})
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()["order"]
    return order


def ledger_sum(server: InProcessServer, order_id: int) -> int:
    [(total,)] = query(server.settings.database_url,
                       "SELECT COALESCE(SUM(amount_cents), 0) FROM ledger WHERE order_id = ?",
                       order_id)
    return int(total)  # type: ignore[call-overload]


def client_for(server: InProcessServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, timeout=30,
                             limits=httpx.Limits(max_connections=50))


async def test_parallel_partial_refunds_never_add_up_to_more_than_the_order(
        server: InProcessServer) -> None:
    admin = staff(server, ("ada@example.com", "admin"))[0]  # no limits
    async with client_for(server) as client:
        order = await new_order(client, admin, 10000)
        path = f"/api/orders/{order['id']}/refunds"
        responses = await asyncio.gather(*(
            client.post(path, headers=headers(admin, f"part-{n}"),
                        json={"amount_cents": 700, "reason": f"part {n}"})
            for n in range(20)))
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    assert statuses[201] * 700 <= 10000
    assert statuses[201] == 14 and statuses[409] == 6  # refused only when too little was left
    assert all(r.json()["error"]["code"] == "over_refundable"
               for r in responses if r.status_code == 409)
    assert ledger_sum(server, order["id"]) == statuses[201] * 700 <= 10000
    customer = server.get(f"/api/customers/{order['customer_id']}", admin).json()["customer"]
    assert customer["orders"][0]["refundable_cents"] == 10000 - 14 * 700


async def test_the_same_idempotency_key_sent_ten_times_at_once_posts_one_refund(
        server: InProcessServer) -> None:
    admin = staff(server, ("ada@example.com", "admin"))[0]
    async with client_for(server) as client:
        order = await new_order(client, admin, 10000)
        responses = await asyncio.gather(*(
            client.post(f"/api/orders/{order['id']}/refunds",
                        headers=headers(admin, "one-refund-please"),
                        json={"amount_cents": 700, "reason": "duplicate clicks"})
            for _ in range(10)))
    assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
    assert len({r.json()["refund"]["id"] for r in responses}) == 1
    assert query(server.settings.database_url,
                 "SELECT COUNT(*), SUM(amount_cents) FROM ledger") == [(1, 700)]


async def test_reservations_and_refunds_racing_never_exceed_the_order(
        server: InProcessServer) -> None:
    """Approval requests (which reserve) and direct refunds at once; then every approval
    approved at once: what is refunded never passes the order's amount."""
    supervisor, admin = staff(server, ("sue@example.com", "supervisor"),
                              ("ada@example.com", "admin"))
    async with client_for(server) as client:
        order = await new_order(client, admin, 200000)
        path = f"/api/orders/{order['id']}/refunds"
        asks = [client.post(path, headers=headers(supervisor, f"big-{n}"),  # over 500.00
                            json={"amount_cents": 60000, "reason": "big"}) for n in range(4)]
        direct = [client.post(path, headers=headers(admin, f"small-{n}"),
                              json={"amount_cents": 9000, "reason": "small"})
                  for n in range(8)]
        responses = await asyncio.gather(*asks, *direct)
        pending = [r.json()["approval"] for r in responses if r.status_code == 202]
        done = [r for r in responses if r.status_code == 201]
        assert all(r.status_code in (201, 202, 409) for r in responses)
        assert len(pending) * 60000 + len(done) * 9000 <= 200000
        approvals = await asyncio.gather(*(
            client.post(f"/api/approvals/{a['id']}/approve", headers=headers(admin))
            for a in pending))
    assert [r.status_code for r in approvals] == [200] * len(pending)
    assert ledger_sum(server, order["id"]) == len(pending) * 60000 + len(done) * 9000
    assert ledger_sum(server, order["id"]) <= 200000


async def test_one_approval_approved_at_once_by_many_pays_out_once(
        server: InProcessServer) -> None:
    supervisor, admin = staff(server, ("sue@example.com", "supervisor"),
                              ("ada@example.com", "admin"))
    async with client_for(server) as client:
        order = await new_order(client, admin, 100000)
        asked = await client.post(f"/api/orders/{order['id']}/refunds",
                                  headers=headers(supervisor, "big"),
                                  json={"amount_cents": 60000, "reason": "big"})
        assert asked.status_code == 202, asked.text
        approval_id = asked.json()["approval"]["id"]
        responses = await asyncio.gather(*(
            client.post(f"/api/approvals/{approval_id}/approve", headers=headers(admin))
            for _ in range(10)))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 9
    assert query(server.settings.database_url,
                 "SELECT COUNT(*), SUM(amount_cents) FROM ledger") == [(1, 60000)]
