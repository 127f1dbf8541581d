"""The Store's privacy work on every backend: everything held about a customer gathered for an
export, an erase on request (the person gone, the ledger's amounts kept, search blind to what
was said, a second erase harmless), and the retention period's erase of old closed chats."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from chatserver.domain.clock import iso
from chatserver.domain.errors import Refused
from chatserver.domain.ledger import Limits, MoneyRequest
from chatserver.domain.models import Agent, Author, Visitor
from chatserver.domain.webhooks import EVENTS
from chatserver.store import Store
from chatserver.store.base import ERASED
from chatserver.store.types import IdempotencyKey
from tests.conftest import T0, Clock

ORDER = {"external_id": "1042", "email": "maya@example.com", "name": "Maya Lin",
         "product": "Course Pro", "amount_cents": 10000, "currency": "USD"}
SAID = "my parcel from Zanzibarstrasse never came"


@dataclass
class Customer:
    id: int
    visitor: Visitor
    token: str
    conversation_id: int
    agent: Agent


async def held(store: Store) -> Customer:
    """Maya, verified, with an order, a closed and rated chat (a note and a follow-up in
    it) and a store credit given in it."""
    ann = await store.add_agent("ann@example.com", "Ann", "supervisor", 3, None)
    visitor, token = await store.create_visitor({"name": "Maya", "page": "https://shop/cart"})
    visitor = await store.verify_visitor(visitor, token, "u-7", "maya@example.com", "Maya Lin")
    assert visitor.customer_id is not None
    await store.upsert_order(ORDER)
    posted = await store.post_visitor_message(Author("visitor", "Maya", visitor.id), "c1",
                                              SAID, None)
    chat = posted.message.conversation_id
    await store.assign(chat, ann.id, "Ann joined")
    await store.post_agent_message(chat, Author("agent", "Ann", str(ann.id)), "n1",
                                   "Maya Lin is a regular", private=True)
    await store.add_follow_up(chat, ann.id, "2030-01-01T00:00:00.000Z", "call Maya back",
                              "Ann will get back to you")
    await store.money_request(
        MoneyRequest("credit", ann, 500, "sorry, Maya", chat, customer_id=visitor.customer_id,
                     currency="USD"), IdempotencyKey("agent:1", "/credits", "k1", "b"),
        Limits(), frozenset())
    await store.close_conversation(chat, "agent", "Ann closed the chat")
    await store.rate(chat, 5, "Ann was kind")
    return Customer(visitor.customer_id, visitor, token, chat, ann)


async def test_the_facts_held_about_a_customer_are_their_record_visitors_chats_and_money(
        store: Store) -> None:
    maya = await held(store)
    facts = await store.privacy_facts(maya.id)
    assert facts is not None
    assert (facts.customer["email"], facts.customer["name"]) == ("maya@example.com", "Maya Lin")
    assert [o["external_id"] for o in facts.customer["orders"]] == ["1042"]
    assert [e["amount_cents"] for e in facts.customer["ledger"]] == [500]
    [visitor] = facts.visitors
    assert (visitor["id"], visitor["email"], visitor["page"], visitor["verified"]) == (
        maya.visitor.id, "maya@example.com", "https://shop/cart", True)
    [chat] = facts.conversations
    assert chat["rating"]["comment"] == "Ann was kind" and chat["erased_at"] is None
    texts = [m.text for m in facts.messages]
    assert SAID in texts and "Maya Lin is a regular" in texts
    assert [f["note"] for f in facts.follow_ups] == ["call Maya back"]
    assert await store.privacy_facts(maya.id + 100) is None


async def test_an_erase_leaves_no_personal_data_nor_words_said_but_keeps_the_money(
        store: Store) -> None:
    maya = await held(store)
    erased = await store.erase_customer(maya.id, maya.agent.id, "asked by email on 3 Dec")
    assert erased is not None
    assert (erased.customer_id, erased.visitor_ids, erased.conversation_ids) == (
        maya.id, [maya.visitor.id], [maya.conversation_id])
    facts = await store.privacy_facts(maya.id)
    assert facts is not None
    customer = facts.customer
    assert (customer["email"], customer["name"], customer["external_user_id"]) == (
        None, None, None)
    assert [(o["email"], o["name"], o["amount_cents"]) for o in customer["orders"]] == [
        (ERASED, None, 10000)]
    assert [e["amount_cents"] for e in customer["ledger"]] == [500]
    assert [(v["name"], v["email"], v["page"]) for v in facts.visitors] == [(None, None, None)]
    assert {m.text for m in facts.messages} == {ERASED}
    assert {m.author.name for m in facts.messages if m.author.role == "visitor"} == {ERASED}
    [chat] = facts.conversations
    assert chat["erased_at"] is not None and chat["rating"]["comment"] is None
    assert [f["note"] for f in facts.follow_ups] == [ERASED]
    assert await store.customers_by_email("maya@example.com") == []
    assert await store.visitor_by_token(maya.token) is None
    assert await store.inbox("all", maya.agent.id, True, "Zanzibarstrasse", 10) == []
    assert await store.inbox("all", maya.agent.id, True, "regular", 10) == []
    [listed] = await store.inbox("all", maya.agent.id, True, None, 10)
    assert listed["erased"] and listed["visitor"]["name"] is None
    assert listed["last_message"] == ERASED
    assert [a["action"] for a in customer["audit"]][-1] == "customer.erased"
    assert customer["audit"][-1]["detail"]["reason"] == "asked by email on 3 Dec"


async def test_a_second_erase_is_harmless_and_an_unknown_customer_is_none(
        store: Store) -> None:
    maya = await held(store)
    await store.erase_customer(maya.id, maya.agent.id, "asked")
    again = await store.erase_customer(maya.id, None, "asked again")
    assert again is not None and again.conversation_ids == [maya.conversation_id]
    facts = await store.privacy_facts(maya.id)
    assert facts is not None and {m.text for m in facts.messages} == {ERASED}
    assert await store.erase_customer(maya.id + 100, None, "who?") is None


async def test_a_customer_with_an_open_chat_is_not_erased(store: Store) -> None:
    maya = await held(store)
    await store.post_visitor_message(Author("visitor", "Maya", maya.visitor.id), "c2",
                                     "one more thing", None)
    with pytest.raises(Refused) as refused:
        await store.erase_customer(maya.id, None, "asked")
    assert refused.value.status == 409
    facts = await store.privacy_facts(maya.id)
    assert facts is not None and facts.customer["email"] == "maya@example.com"


async def test_other_customers_are_untouched_by_an_erase(store: Store) -> None:
    maya = await held(store)
    other, _token = await store.create_visitor({"name": "Omar"})
    await store.post_visitor_message(Author("visitor", "Omar", other.id), "o1",
                                     "Zanzibarstrasse is my street too", None)
    await store.erase_customer(maya.id, None, "asked")
    [found] = await store.inbox("all", maya.agent.id, True, "Zanzibarstrasse", 10)
    assert found["visitor"]["id"] == other.id


async def test_retention_erases_the_chats_closed_before_a_time_oldest_first_once(
        store: Store, store_clock: Clock) -> None:
    maya = await held(store)
    store_clock.at += 86400
    later = await store.post_visitor_message(Author("visitor", "Maya", maya.visitor.id), "c2",
                                             "and Zanzibarstrasse again", None)
    await store.close_conversation(later.message.conversation_id, "visitor", "closed")
    between = iso(T0 + 43200)  # after the first chat closed, before the second
    assert await store.erase_closed_before(between, 100) == [maya.conversation_id]
    assert await store.erase_closed_before(between, 100) == []
    [found] = await store.inbox("all", maya.agent.id, True, "Zanzibarstrasse", 10)
    assert found["id"] == later.message.conversation_id
    facts = await store.privacy_facts(maya.id)
    assert facts is not None and facts.customer["email"] == "maya@example.com"


async def test_an_erase_deletes_the_webhook_deliveries_that_carry_what_was_said(
        store: Store) -> None:
    await store.add_webhook_endpoint("https://shop.example/hooks", EVENTS, "whsec_x")
    maya = await held(store)
    await store.claim_alert("overdue", 1, "2030-01-01T00:00:00.000Z")  # its follow-up's
    [endpoint] = await store.webhook_endpoints(100)
    assert {"message.created", "conversation.closed", "follow_up.due"} <= {
        d["type"] for d in endpoint["deliveries"]}
    await store.erase_customer(maya.id, None, "asked")
    [endpoint] = await store.webhook_endpoints(100)
    assert {d["type"] for d in endpoint["deliveries"]} == {"credit.created"}  # money stays
