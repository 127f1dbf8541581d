"""The outbox of outgoing webhooks, on every backend: each change writes a delivery for each
endpoint subscribed to its event, in the change's own transaction (none without it, none for
a private note), and sending processes claim each delivery once, a lease at a time."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from chatserver.domain.clock import iso
from chatserver.domain.webhooks import EVENTS
from chatserver.store import Store, open_store
from chatserver.store.base import ClaimedDelivery
from tests.conftest import T0, Clock
from tests.store.test_chat_store import new_agent, new_visitor, open_chat
from tests.store.test_commerce_store import LIMITS, MANUAL, ORDER, key, refund, staff

LEASE = 60.0
NOW = T0 + 10


async def claim_all(store: Store, now: float = NOW) -> list[ClaimedDelivery]:
    return await store.claim_deliveries(now, LEASE, 1000)


async def types(store: Store) -> list[str]:
    return [d.type for d in await claim_all(store)]


async def test_each_change_writes_a_delivery_of_its_event(store: Store,
                                                          store_clock: Clock) -> None:
    endpoint = await store.add_webhook_endpoint("https://shop.example/hooks", EVENTS, "whsec_x")
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    agent, author = await new_agent(store)
    await store.assign(conversation_id, agent.id, "Ann joined")
    await store.post_agent_message(conversation_id, author, "a1", "hello Vera", private=False)
    await store.post_agent_message(conversation_id, author, "a2", "a note", private=True)
    await store.rate(conversation_id, 5, "great")
    await store.close_conversation(conversation_id, "agent", "Ann closed the chat")
    claimed = await claim_all(store)
    assert [d.type for d in claimed] == [
        "conversation.created", "message.created",  # the visitor's first message
        "conversation.assigned", "message.created",  # with its system message
        "message.created",  # the agent's answer; the note: none
        "conversation.rated", "conversation.closed", "message.created"]
    assert {d.url for d in claimed} == {endpoint["url"]}
    assert claimed[0].subject == conversation_id and claimed[0].created_at == iso(T0)
    assert all(d.attempts == 1 and d.body is None for d in claimed)


async def test_refunds_credits_and_due_follow_ups_have_their_events(store: Store) -> None:
    await store.add_webhook_endpoint("https://shop.example/hooks", EVENTS, "whsec_x")
    admin = await staff(store, "admin", "ada@example.com")
    order = (await store.upsert_order(ORDER)).order
    done = await store.money_request(refund(admin, order["id"], 2500), key("k1"), LIMITS,
                                     MANUAL)
    await store.money_request(refund(admin, order["id"], 2500), key("k1"), LIMITS, MANUAL)
    assert await store.claim_alert("overdue", 7, "2026-01-01T00:00:00.000Z")
    assert not await store.claim_alert("overdue", 7, "2026-01-01T00:00:00.000Z")
    assert await store.claim_alert("unanswered", 8, "2026-01-01T00:00:00.000Z")
    claimed = await claim_all(store)
    assert [(d.type, d.subject) for d in claimed] == [
        ("refund.created", done.body["refund"]["id"]), ("follow_up.due", 7)]
    entry = await store.ledger_entry(done.body["refund"]["id"])
    assert entry == done.body["refund"]


async def test_only_subscribed_endpoints_get_deliveries_and_none_without_endpoints(
        store: Store) -> None:
    visitor = await new_visitor(store)
    await open_chat(store, visitor)
    assert await types(store) == []
    await store.add_webhook_endpoint("https://a.example/", ("conversation.closed",), "whsec_a")
    await store.add_webhook_endpoint("https://b.example/", ("message.created",), "whsec_b")
    await store.post_visitor_message(visitor, "second", "still there?", None)
    claimed = await claim_all(store)
    assert [(d.type, d.url) for d in claimed] == [("message.created", "https://b.example/")]


async def test_a_rolled_back_change_leaves_no_delivery(store: Store) -> None:
    await store.add_webhook_endpoint("https://shop.example/hooks", EVENTS, "whsec_x")
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    await claim_all(store)
    insert = ("INSERT INTO messages (conversation_id, seq, author_role, author_name, text, "
              "created_at) VALUES ({}, 99, 'system', 'System', 'lost', 'x')")

    class Undone(Exception):
        pass

    def on_sqlite(db: sqlite3.Connection) -> None:
        db.execute(insert.format("?"), (conversation_id,))
        raise Undone

    async def on_postgres(db: Any) -> None:
        await db.execute(insert.format("$1"), conversation_id)
        raise Undone
    try:
        sqlite = type(store).__name__ == "SqliteStore"
        await store.transaction(on_sqlite if sqlite else on_postgres)  # type: ignore[attr-defined]
    except Undone:
        pass
    assert await claim_all(store) == []  # (the two before are leased)
    assert [m.text for m in await store.messages(conversation_id)] == ["hello"]


async def test_two_processes_claiming_at_once_never_take_one_delivery_twice(
        store: Store, store_url: str) -> None:
    await store.add_webhook_endpoint("https://shop.example/hooks", EVENTS, "whsec_x")
    for n in range(12):
        await open_chat(store, await new_visitor(store, f"V{n}"))  # two deliveries each
    other = await open_store(store_url)
    try:
        batches = await asyncio.gather(*(
            (store if n % 2 else other).claim_deliveries(NOW, LEASE, 5) for n in range(8)))
    finally:
        await other.close()
    ids = [d.id for batch in batches for d in batch]
    assert len(ids) == len(set(ids)) == 24


async def test_a_claim_lapses_after_its_lease_and_a_try_sets_the_next(store: Store) -> None:
    await store.add_webhook_endpoint("https://shop.example/hooks", ("conversation.created",),
                                     "whsec_x")
    await open_chat(store, await new_visitor(store))
    [first] = await claim_all(store)
    assert await claim_all(store, NOW + LEASE - 1) == []  # still this process's
    [again] = await claim_all(store, NOW + LEASE)  # the process died: tried again
    assert (again.id, again.attempts) == (first.id, 2)
    await store.finish_delivery(again.id, '{"type": 1}', 500, "oops", False, NOW + 100)
    assert await claim_all(store, NOW + 99) == []
    [third] = await claim_all(store, NOW + 100)
    assert (third.attempts, third.body) == (3, '{"type": 1}')  # the first body, kept
    await store.finish_delivery(third.id, '{"type": 1}', 204, "", True, None)
    assert await claim_all(store, NOW + 10_000) == []
    [endpoint] = await store.webhook_endpoints(20)
    [delivery] = endpoint["deliveries"]
    assert (delivery["status"], delivery["attempts"], delivery["answer_status"]) == (
        "delivered", 3, 204)


async def test_a_given_up_delivery_is_resent_with_its_id_and_body(store: Store) -> None:
    await store.add_webhook_endpoint("https://shop.example/hooks", ("conversation.created",),
                                     "whsec_x")
    await open_chat(store, await new_visitor(store))
    [first] = await claim_all(store)
    await store.finish_delivery(first.id, "{}", None, "no answer", False, None)
    assert await claim_all(store, NOW + 10**6) == []
    resent = await store.resend_delivery(first.id)
    assert (resent["status"], resent["attempts"]) == ("pending", 0)
    [again] = await claim_all(store)
    assert (again.id, again.body, again.attempts) == (first.id, "{}", 1)


async def test_deleting_an_endpoint_deletes_its_deliveries(store: Store) -> None:
    endpoint = await store.add_webhook_endpoint("https://shop.example/hooks", EVENTS, "whsec_x")
    assert endpoint["events"] == list(EVENTS) and endpoint["secret"] == "whsec_x"
    assert "secret" not in (await store.webhook_endpoints(20))[0]  # shown once
    visitor = await new_visitor(store)
    await open_chat(store, visitor)
    await store.delete_webhook_endpoint(endpoint["id"])
    assert await store.webhook_endpoints(20) == []
    assert await claim_all(store) == []
    await store.post_visitor_message(visitor, "second", "still there?", None)
    assert await claim_all(store) == []  # no endpoint wants it any more


async def test_deliveries_done_with_are_forgotten_after_a_while_but_pending_ones_never(
        store: Store, store_clock: Clock) -> None:
    await store.add_webhook_endpoint("https://shop.example/hooks", ("conversation.created",),
                                     "whsec_x")
    for n in range(3):
        await open_chat(store, await new_visitor(store, f"V{n}"))
    delivered, failed, pending = await claim_all(store)
    await store.finish_delivery(delivered.id, "{}", 200, "ok", True, None)
    await store.finish_delivery(failed.id, "{}", 500, "no", False, None)
    await store.finish_delivery(pending.id, "{}", 500, "no", False, NOW + 100)
    assert await store.forget_deliveries(iso(T0)) == 0  # made at T0: not before it
    assert await store.forget_deliveries(iso(T0 + 1)) == 2
    [endpoint] = await store.webhook_endpoints(20)
    assert [d["id"] for d in endpoint["deliveries"]] == [pending.id]
