"""Refunds a payment provider carries out, on every backend: written waiting for the
provider (the visitor told nothing yet), asked for once, moved on by its answers and
webhooks (each change an outbox delivery of `refund.updated`), freed when it fails."""

from __future__ import annotations

from chatserver.domain.provider_refunds import RefundState, Reported
from chatserver.domain.webhooks import EVENTS
from chatserver.store import Store
from chatserver.store.types import Outcome
from tests.store.test_commerce_store import LIMITS, MANUAL, ORDER, chat_with, key, refund, staff
from tests.store.test_webhooks_store import claim_all

STRIPE = frozenset({"stripe"})
STRIPE_ORDER = {**ORDER, "provider": "stripe", "provider_payment_id": "pi_1"}


async def stripe_refund(store: Store, cents: int = 2500,
                        turned_on: frozenset[str] = STRIPE) -> tuple[Outcome, int]:
    """A Stripe order's refund given in a chat; and the chat."""
    admin = await staff(store, "admin", "ada@example.com")
    order = (await store.upsert_order(STRIPE_ORDER)).order
    conversation_id = await chat_with(store, admin)
    await store.verify_purchase(conversation_id, "1042", "maya@example.com", admin)
    done = await store.money_request(refund(admin, order["id"], cents, conversation_id),
                                     key("k1"), LIMITS, turned_on)
    return done, conversation_id


async def refundable(store: Store) -> int:
    [customer] = await store.customers_by_email("maya@example.com")
    found = await store.customer(customer["id"])
    assert found is not None
    return int(found["orders"][0]["refundable_cents"])


async def test_a_stripe_orders_refund_waits_for_stripe_and_tells_the_visitor_nothing_yet(
        store: Store) -> None:
    done, _chat = await stripe_refund(store)
    entry = done.body["refund"]
    assert (entry["provider"], entry["provider_status"], entry["provider_refund_id"]) == (
        "stripe", "pending", None)
    assert done.notice is None
    due = await store.refund_due(entry["id"])
    assert due is not None
    assert (due.provider, due.payment_id, due.amount_cents) == ("stripe", "pi_1", 2500)
    assert due.key.startswith("chatserver-refund-")
    assert await refundable(store) == 7500


async def test_with_stripe_turned_off_the_same_refund_is_manual_and_told_at_once(
        store: Store) -> None:
    done, _chat = await stripe_refund(store, turned_on=MANUAL)
    assert (done.body["refund"]["provider"], done.body["refund"]["provider_status"]) == (
        "manual", None)
    assert done.notice is not None
    assert await store.refund_due(done.body["refund"]["id"]) is None


async def test_stripes_answer_is_applied_once_and_the_visitor_told_when_it_is_made(
        store: Store) -> None:
    done, conversation_id = await stripe_refund(store)
    entry_id = done.body["refund"]["id"]
    made = await store.settle_refund(entry_id, RefundState("re_1", "pending"))
    assert made.notice is not None and made.notice.conversation_id == conversation_id
    assert made.notice.text == "A refund of 25.00 USD for order 1042 has been issued."
    assert await store.refund_due(entry_id) is None
    again = await store.settle_refund(entry_id, RefundState("re_1", "pending"))
    assert again.notice is None and again.body["refund"]["provider_refund_id"] == "re_1"
    moved = await store.refund_reported("stripe", Reported(RefundState("re_1", "succeeded")))
    assert moved is not None and moved.body["refund"]["provider_status"] == "succeeded"
    assert await store.refund_reported("stripe", Reported(RefundState("re_9", "succeeded"))) is None


async def test_a_refund_stripe_refused_is_freed_without_a_word_to_the_visitor(
        store: Store) -> None:
    done, _chat = await stripe_refund(store)
    failed = await store.settle_refund(done.body["refund"]["id"],
                                       RefundState(None, "failed", "Stripe: no"))
    assert failed.notice is None
    assert (failed.body["refund"]["provider_status"],
            failed.body["refund"]["provider_error"]) == ("failed", "Stripe: no")
    assert await refundable(store) == 10000


async def test_a_refund_failing_after_it_was_made_is_freed_and_the_visitor_told(
        store: Store) -> None:
    done, _chat = await stripe_refund(store)
    await store.settle_refund(done.body["refund"]["id"], RefundState("re_1", "succeeded"))
    failed = await store.refund_reported("stripe",
                                         Reported(RefundState("re_1", "failed", "Stripe: x")))
    assert failed is not None and failed.notice is not None
    assert failed.notice.text.startswith("The refund of 25.00 USD for order 1042 did not go")
    assert await refundable(store) == 10000


async def test_each_change_of_a_refunds_status_is_a_refund_updated_delivery(
        store: Store) -> None:
    await store.add_webhook_endpoint("https://shop.example/hooks", EVENTS, "whsec_x")
    done, _chat = await stripe_refund(store)
    entry_id = done.body["refund"]["id"]
    await store.settle_refund(entry_id, RefundState("re_1", "pending"))  # its id only
    await store.refund_reported("stripe", Reported(RefundState("re_1", "succeeded")))
    await store.refund_reported("stripe", Reported(RefundState("re_1", "succeeded")))  # a replay
    claimed = [(d.type, d.subject) for d in await claim_all(store)
               if d.type.startswith("refund.")]
    assert claimed == [("refund.created", entry_id), ("refund.updated", entry_id)]


async def test_a_report_naming_an_entry_whose_answer_was_lost_finds_it(store: Store) -> None:
    done, _chat = await stripe_refund(store)
    entry_id = done.body["refund"]["id"]
    found = await store.refund_reported("stripe", Reported(RefundState("re_1", "succeeded"),
                                                           entry_id))
    assert found is not None and found.body["refund"]["provider_refund_id"] == "re_1"
    assert found.notice is not None  # the visitor hears of it now
    other = await store.refund_reported("stripe", Reported(RefundState("re_2", "succeeded"),
                                                           entry_id))
    assert other is None  # the entry has its refund: another one is not it


async def test_refunds_left_without_an_answer_are_found_to_ask_again(store: Store) -> None:
    done, _chat = await stripe_refund(store)
    entry_id = done.body["refund"]["id"]
    assert await store.refunds_unanswered("9999-01-01T00:00:00.000Z") == [entry_id]
    assert await store.refunds_unanswered("2000-01-01T00:00:00.000Z") == []  # not yet
    await store.settle_refund(entry_id, RefundState("re_1", "pending"))
    assert await store.refunds_unanswered("9999-01-01T00:00:00.000Z") == []
