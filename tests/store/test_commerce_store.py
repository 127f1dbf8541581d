"""The Store's customers, orders and money, called directly: every backend keeps these.

Written once and parametrized by backend (tests/store/conftest.py). Money actions decide on
the facts inside the transaction that writes them, so racing refunds never add up to more than the
order, and one Idempotency-Key never posts twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from chatserver.domain.ledger import LedgerError, Limits, MoneyRequest
from chatserver.domain.models import Agent, Author
from chatserver.store import Store
from chatserver.store.types import IdempotencyKey, Outcome

LIMITS = Limits()
MANUAL = frozenset[str]()  # no payment provider turned on: every refund is manual
FUTURE = 4_000_000_000  # webhook timestamps no receipt clean-up reaches in these tests
ORDER = {"external_id": "1042", "email": "maya@example.com", "name": "Maya Lin",
         "product": "Course Pro", "amount_cents": 10000, "currency": "USD"}


async def staff(store: Store, role: str, email: str) -> Agent:
    return await store.add_agent(email, email.split("@")[0].title(), role, 3, None)


def refund(actor: Agent, order_id: int, cents: int, conversation_id: int | None = None
           ) -> MoneyRequest:
    return MoneyRequest("refund", actor, cents, "late delivery", conversation_id,
                        order_id=order_id)


def key(name: str, body: str = "body") -> IdempotencyKey:
    return IdempotencyKey("agent:1", "/api/orders/1/refunds", name, body)


async def refused(action: Any) -> tuple[int, str]:
    with pytest.raises(LedgerError) as error:
        await action
    return error.value.status, error.value.code


async def chat_with(store: Store, agent: Agent) -> int:
    """A visitor's conversation, assigned to `agent`."""
    visitor, _token = await store.create_visitor({"name": "Maya"})
    posted = await store.post_visitor_message(Author("visitor", "Maya", visitor.id), "c1",
                                              "my course never arrived", 1.0)
    conversation_id = posted.message.conversation_id
    await store.assign(conversation_id, agent.id, "Ann joined")
    return conversation_id


# --- orders --------------------------------------------------------------------------------

async def test_an_order_is_created_then_unchanged_then_updated_by_its_external_id(
        store: Store) -> None:
    created = await store.upsert_order(ORDER)
    assert created.change == "created"
    assert created.order["refundable_cents"] == 10000 and created.order["status"] == "paid"
    again = await store.upsert_order(ORDER)
    assert (again.change, again.order["id"]) == ("unchanged", created.order["id"])
    updated = await store.upsert_order({**ORDER, "product": "Course Pro+"})
    assert (updated.change, updated.order["product"]) == ("updated", "Course Pro+")


async def test_orders_with_one_email_belong_to_one_customer_found_by_that_email(
        store: Store) -> None:
    first = await store.upsert_order(ORDER)
    second = await store.upsert_order({**ORDER, "external_id": "1043",
                                       "email": "MAYA@example.com"})
    assert first.order["customer_id"] == second.order["customer_id"]
    [customer] = await store.customers_by_email("maya@example.com")
    assert customer["id"] == first.order["customer_id"]
    found = await store.customer(customer["id"])
    assert found is not None
    assert sorted(o["external_id"] for o in found["orders"]) == ["1042", "1043"]


async def test_an_unknown_customer_is_none(store: Store) -> None:
    assert await store.customer(999) is None
    assert await store.customers_by_email("nobody@example.com") == []


async def test_an_order_cannot_drop_below_what_was_refunded(store: Store) -> None:
    admin = await staff(store, "admin", "ada@example.com")
    order = (await store.upsert_order(ORDER)).order
    await store.money_request(refund(admin, order["id"], 6000), key("k1"), LIMITS, MANUAL)
    assert await refused(store.upsert_order({**ORDER, "amount_cents": 5999})) == (
        409, "amount_below_refunded")


async def test_a_webhook_applies_once_and_never_after_a_newer_one(store: Store) -> None:
    first = await store.webhook_order(ORDER, FUTURE, "sig-1")
    assert first is not None and first.change == "created"
    assert await store.webhook_order({**ORDER, "status": "refunded"}, FUTURE, "sig-1") is None
    newer = await store.webhook_order({**ORDER, "status": "shipped"}, FUTURE + 2, "sig-2")
    assert newer is not None and newer.order["status"] == "shipped"
    assert await store.webhook_order({**ORDER, "status": "paid"}, FUTURE + 1, "sig-3") is None
    [found] = (await store.customer(first.order["customer_id"]) or {})["orders"]
    assert found["status"] == "shipped"


# --- refunds made in the shop's platform ----------------------------------------------------
SHOP_ORDER = {**ORDER, "shop_ref": "shopify:450789469"}


async def test_refunds_the_shop_reports_count_only_beyond_those_given_in_the_chat(
        store: Store) -> None:
    admin = await staff(store, "admin", "root@example.com")
    order = (await store.upsert_order(SHOP_ORDER)).order
    assert (order["shop_refunded_cents"], order["refundable_cents"]) == (0, 10000)
    await store.money_request(refund(admin, order["id"], 3000), key("k1"), LIMITS, MANUAL)
    # the chat's manual refund, carried out in the shop, comes back as the shop's refund
    shown = await store.webhook_order({**SHOP_ORDER, "shop_refunds": {"r1": 3000}}, FUTURE,
                                      "sig-1")
    assert shown is not None
    assert (shown.order["shop_refunded_cents"], shown.order["refundable_cents"]) == (3000, 7000)
    # then one made in the shop's admin only
    later = await store.refund_elsewhere("shopify:450789469", "r2", 2000)
    assert later is not None and later.order["refundable_cents"] == 5000
    assert await refused(store.money_request(refund(admin, order["id"], 5001), key("k2"),
                                             LIMITS, MANUAL)) == (409, "over_refundable")


async def test_a_refund_the_shop_reports_twice_counts_once(store: Store) -> None:
    await store.upsert_order(SHOP_ORDER)
    first = await store.refund_elsewhere("shopify:450789469", "r1", 2500)
    again = await store.refund_elsewhere("shopify:450789469", "r1", 2500)
    assert first is not None and again is not None and again.change == "unchanged"
    assert again.order["shop_refunded_cents"] == 2500
    # an order delivery that does not know of it yet takes nothing away
    late = await store.webhook_order({**SHOP_ORDER, "shop_refunds": {}}, FUTURE, "sig-1")
    assert late is not None and late.order["shop_refunded_cents"] == 2500
    assert await store.refund_elsewhere("shopify:1", "r1", 2500) is None  # no such order


async def test_refunds_the_shop_reports_at_once_are_all_counted(store: Store) -> None:
    customer_id = (await store.upsert_order(SHOP_ORDER)).order["customer_id"]
    await asyncio.gather(*(store.refund_elsewhere("shopify:450789469", f"r{n}", 100)
                           for n in range(8)), store.webhook_order(
        {**SHOP_ORDER, "shop_refunds": {"r0": 100, "r9": 100}}, FUTURE, "sig-1"))
    [found] = (await store.customer(customer_id) or {})["orders"]
    assert (found["shop_refunded_cents"], found["refundable_cents"]) == (900, 9100)


async def test_shop_refunds_sent_as_a_total_are_kept_when_left_out(store: Store) -> None:
    order = (await store.upsert_order({**ORDER, "shop_refunded_cents": 12000})).order
    assert (order["shop_refunded_cents"], order["refundable_cents"]) == (12000, 0)
    kept = (await store.upsert_order({**ORDER, "status": "shipped"})).order
    assert kept["shop_refunded_cents"] == 12000


# --- refunds and idempotency ------------------------------------------------------------------

async def test_an_admin_refund_is_done_at_once_and_replayed_for_the_same_key_and_body(
        store: Store) -> None:
    admin = await staff(store, "admin", "ada@example.com")
    order = (await store.upsert_order(ORDER)).order
    done = await store.money_request(refund(admin, order["id"], 2500), key("k1"), LIMITS,
                                     MANUAL)
    assert done.status == 201 and done.body["refund"]["amount_cents"] == 2500
    again = await store.money_request(refund(admin, order["id"], 2500), key("k1"), LIMITS,
                                      MANUAL)
    assert (again.status, again.body) == (201, done.body)
    assert await refused(store.money_request(refund(admin, order["id"], 100),
                                             key("k1", "other body"), LIMITS, MANUAL)) == (
        422, "idempotency_mismatch")
    customer = await store.customer(order["customer_id"])
    assert customer is not None and [e["amount_cents"] for e in customer["ledger"]] == [2500]



async def test_a_refusal_is_its_keys_answer_and_a_retry_is_refused_again(store: Store) -> None:
    admin = await staff(store, "admin", "ada@example.com")
    order = (await store.upsert_order(ORDER)).order
    too_much = refund(admin, order["id"], 15000)
    assert await refused(store.money_request(too_much, key("k1"), LIMITS, MANUAL)) == (
        409, "over_refundable")
    await store.upsert_order({**ORDER, "amount_cents": 20000})  # the order grows meanwhile
    assert await refused(store.money_request(too_much, key("k1"), LIMITS, MANUAL)) == (
        409, "over_refundable")
    assert await refused(store.money_request(refund(admin, order["id"], 100),
                                             key("k1", "other body"), LIMITS, MANUAL)) == (
        422, "idempotency_mismatch")
    customer = await store.customer(order["customer_id"])
    assert customer is not None and customer["ledger"] == []
    done = await store.money_request(too_much, key("k2"), LIMITS, MANUAL)  # a new key asks anew
    assert done.status == 201 and done.body["refund"]["amount_cents"] == 15000

async def test_parallel_refunds_of_one_order_never_add_up_to_more_than_it(store: Store) -> None:
    admin = await staff(store, "admin", "ada@example.com")
    order = (await store.upsert_order(ORDER)).order

    async def attempt(n: int) -> int | str:
        try:
            done = await store.money_request(refund(admin, order["id"], 700), key(f"k{n}"),
                                             LIMITS, MANUAL)
        except LedgerError as error:
            return error.code
        return done.status
    outcomes = Counter(await asyncio.gather(*(attempt(n) for n in range(20))))
    assert outcomes == {201: 14, "over_refundable": 6}


async def test_one_key_racing_with_itself_posts_once(store: Store) -> None:
    admin = await staff(store, "admin", "ada@example.com")
    order = (await store.upsert_order(ORDER)).order
    outcomes = await asyncio.gather(*(
        store.money_request(refund(admin, order["id"], 700), key("same"), LIMITS, MANUAL)
        for _ in range(10)))
    assert len({o.body["refund"]["id"] for o in outcomes}) == 1
    customer = await store.customer(order["customer_id"])
    assert customer is not None and len(customer["ledger"]) == 1


# --- an agent in a chat: verification, limits, approvals ----------------------------------------

async def test_an_agent_refunds_only_after_verifying_the_purchase_and_the_visitor_is_told(
        store: Store) -> None:
    agent = await staff(store, "agent", "ann@example.com")
    order = (await store.upsert_order(ORDER)).order
    conversation_id = await chat_with(store, agent)
    assert await refused(store.money_request(refund(agent, order["id"], 1000, conversation_id),
                                             key("k1"), LIMITS, MANUAL)) == (
        403, "not_verified")
    announced: list[Outcome] = []
    verified = await store.verify_purchase(conversation_id, " 1042 ", "MAYA@example.com", agent,
                                           on_commit=announced.append)
    assert verified.body["customer_id"] == order["customer_id"]
    assert verified.notice is not None and "1042" in verified.notice.text
    done = await store.money_request(refund(agent, order["id"], 1000, conversation_id),
                                     key("k2"), LIMITS, MANUAL, on_commit=announced.append)
    assert done.status == 201 and done.notice is not None
    assert done.notice.text == "A refund of 10.00 USD for order 1042 has been issued."
    assert done.visitor_id == verified.visitor_id
    assert announced == [verified, done]  # told once committed, in commit order


async def test_a_purchase_that_does_not_match_is_not_verified(store: Store) -> None:
    agent = await staff(store, "agent", "ann@example.com")
    await store.upsert_order(ORDER)
    conversation_id = await chat_with(store, agent)
    assert await refused(store.verify_purchase(conversation_id, "1042", "eve@example.com",
                                               agent)) == (404, "no_match")


async def test_an_agent_over_the_limit_asks_and_another_supervisor_approves(
        store: Store) -> None:
    agent = await staff(store, "agent", "ann@example.com")
    supervisor = await staff(store, "supervisor", "sue@example.com")
    order = (await store.upsert_order(ORDER)).order
    conversation_id = await chat_with(store, agent)
    await store.verify_purchase(conversation_id, "1042", "maya@example.com", agent)
    asked = await store.money_request(refund(agent, order["id"], 6000, conversation_id),
                                      key("k1"), LIMITS, MANUAL)
    assert asked.status == 202 and asked.notice is None
    approval = asked.body["approval"]
    assert approval["status"] == "pending" and approval["why"]
    assert [a["id"] for a in await store.approvals("pending", agent.id)] == [approval["id"]]
    assert await store.approvals("pending", supervisor.id) == []
    decided = await store.decide_approval(approval["id"], True, supervisor, "ok", LIMITS,
                                          MANUAL)
    assert decided.body["approval"]["status"] == "approved"
    assert decided.body["refund"]["amount_cents"] == 6000 and decided.notice is not None
    assert await refused(store.decide_approval(approval["id"], False, supervisor, None,
                                               LIMITS, MANUAL)) == (409, "conflict")


async def test_a_pending_request_reserves_its_amount_against_the_order(store: Store) -> None:
    agent = await staff(store, "agent", "ann@example.com")
    order = (await store.upsert_order(ORDER)).order
    conversation_id = await chat_with(store, agent)
    await store.verify_purchase(conversation_id, "1042", "maya@example.com", agent)
    await store.money_request(refund(agent, order["id"], 6000, conversation_id), key("k1"),
                              LIMITS, MANUAL)
    assert await refused(store.money_request(refund(agent, order["id"], 4001, conversation_id),
                                             key("k2"), LIMITS, MANUAL)) == (
        409, "over_refundable")


async def test_a_supervisor_rejects_and_nobody_approves_their_own_request(
        store: Store) -> None:
    supervisor = await staff(store, "supervisor", "sue@example.com")
    order = (await store.upsert_order({**ORDER, "amount_cents": 90000})).order
    asked = await store.money_request(refund(supervisor, order["id"], 60000), key("k1"),
                                      LIMITS, MANUAL)
    approval_id = asked.body["approval"]["id"]
    assert await refused(store.decide_approval(approval_id, True, supervisor, None, LIMITS,
                                               MANUAL)) == (403, "own_request")
    rejected = await store.decide_approval(approval_id, False, supervisor, "no", LIMITS,
                                           MANUAL)
    assert rejected.body["approval"]["status"] == "rejected" and "refund" not in rejected.body
    assert await refused(store.decide_approval(999, True, supervisor, None, LIMITS,
                                               MANUAL)) == (404, "not_found")


async def test_linking_a_conversation_to_a_customer_lets_money_be_told_there(
        store: Store) -> None:
    supervisor = await staff(store, "supervisor", "sue@example.com")
    order = (await store.upsert_order(ORDER)).order
    conversation_id = await chat_with(store, supervisor)
    credit = MoneyRequest("credit", supervisor, 500, "sorry", conversation_id,
                          customer_id=order["customer_id"], currency="USD")
    assert await refused(store.money_request(credit, key("k1"), LIMITS, MANUAL)) == (
        422, "invalid")
    linked = await store.link_customer(conversation_id, order["customer_id"], supervisor)
    assert linked.body["customer"]["id"] == order["customer_id"]
    done = await store.money_request(credit, key("k2"), LIMITS, MANUAL)
    assert done.status == 201 and done.body["credit"]["amount_cents"] == 500
    customer = await store.customer(order["customer_id"])
    assert customer is not None and customer["credit_balances"] == {"USD": 500}
