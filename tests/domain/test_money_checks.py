"""Who may give money where, who decides an approval, whom a verified purchase links: the
checks over plain facts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chatserver.domain.ledger import LedgerError, Limits
from chatserver.domain.models import Agent
from chatserver.domain.money_checks import (
    AskedApproval,
    Chat,
    GivenInChat,
    PurchaseLinks,
    VerifiedOrder,
    check_decision,
    check_may_give,
    purchase_links,
)

AGENT = Agent(1, "ann@example.com", "Ann", "agent", 3, "available")
OTHER_AGENT = Agent(2, "bob@example.com", "Bob", "agent", 3, "available")
SUPERVISOR = Agent(3, "sue@example.com", "Sue", "supervisor", 3, "available")
ADMIN = Agent(4, "ada@example.com", "Ada", "admin", 3, "available")
CUSTOMER, STRANGER, ORDER = 10, 11, 100


# Ann's conversation with the customer, linked to them by a typed email: nothing verified
ANNS_CHAT = Chat(7, agent_id=AGENT.id, customer_id=CUSTOMER, identity_of=None)


def chat(**changes: Any) -> Chat:
    return replace(ANNS_CHAT, **changes)


def refusal(actor: Agent, where: Chat | None, customer_id: int = CUSTOMER,
            order_id: int | None = ORDER) -> tuple[int, str]:
    with pytest.raises(LedgerError) as refused:
        check_may_give(actor, where, customer_id, order_id)
    return refused.value.status, refused.value.code


# --- an agent gives money only in their own chat, where the purchase or customer is verified

def test_an_agent_refunds_an_order_verified_in_their_own_chat() -> None:
    check_may_give(AGENT, chat(verified_orders=(VerifiedOrder(ORDER, CUSTOMER),)), CUSTOMER,
                   ORDER)


def test_an_agent_gives_money_to_a_verified_identity_linked_to_their_chat() -> None:
    check_may_give(AGENT, chat(identity_of=CUSTOMER), CUSTOMER, ORDER)
    check_may_give(AGENT, chat(identity_of=CUSTOMER), CUSTOMER, None)


def test_an_agent_credits_a_customer_whose_purchase_was_verified_in_the_chat() -> None:
    check_may_give(AGENT, chat(verified_orders=(VerifiedOrder(ORDER, CUSTOMER),)), CUSTOMER,
                   None)


def test_an_agent_in_someone_elses_chat_is_forbidden() -> None:
    assert refusal(OTHER_AGENT, chat(identity_of=CUSTOMER)) == (403, "forbidden")


def test_an_agent_outside_any_chat_is_not_verified() -> None:
    assert refusal(AGENT, None) == (403, "not_verified")


def test_an_agent_may_not_give_on_the_strength_of_a_typed_email() -> None:
    assert refusal(AGENT, chat()) == (403, "not_verified")
    assert refusal(AGENT, chat(), order_id=None) == (403, "not_verified")


def test_a_verified_identity_of_another_customer_does_not_count() -> None:
    assert refusal(AGENT, chat(identity_of=STRANGER)) == (403, "not_verified")


def test_a_verified_identity_counts_only_while_the_chat_is_linked_to_that_customer() -> None:
    assert refusal(AGENT, chat(identity_of=CUSTOMER, customer_id=STRANGER)) == (
        403, "not_verified")


def test_another_order_verified_in_the_chat_does_not_verify_this_one() -> None:
    assert refusal(AGENT, chat(verified_orders=(VerifiedOrder(ORDER + 1, CUSTOMER),))) == (
        403, "not_verified")


def test_a_purchase_of_someone_else_verified_in_the_chat_does_not_verify_the_customer() -> None:
    where = chat(verified_orders=(VerifiedOrder(ORDER, STRANGER),))
    assert refusal(AGENT, where, order_id=None) == (403, "not_verified")


# --- whoever gives it, money is told only in the customer's own chat -------------------------

def test_supervisors_and_admins_give_money_outside_any_chat_and_without_verification() -> None:
    for actor in (SUPERVISOR, ADMIN):
        check_may_give(actor, None, CUSTOMER, ORDER)
        check_may_give(actor, chat(agent_id=AGENT.id), CUSTOMER, ORDER)


def test_money_for_one_customer_is_refused_in_another_customers_chat() -> None:
    for actor in (SUPERVISOR, ADMIN):
        assert refusal(actor, chat(customer_id=STRANGER)) == (422, "invalid")


def test_an_unlinked_chat_is_refused_too() -> None:
    assert refusal(SUPERVISOR, chat(customer_id=None)) == (422, "invalid")


def test_a_chat_where_the_customers_purchase_was_verified_is_theirs() -> None:
    check_may_give(SUPERVISOR, chat(customer_id=STRANGER,
                                    verified_orders=(VerifiedOrder(ORDER, CUSTOMER),)),
                   CUSTOMER, None)


# --- what a conversation was given counts toward the limits -------------------------------------

def test_a_request_counts_what_was_given_and_what_waits_for_approval() -> None:
    assert GivenInChat(given=1000, pending=2500).counted_for_a_request == 3500


def test_an_approval_counts_only_what_was_given() -> None:
    assert GivenInChat(given=1000, pending=2500).counted_for_an_approval == 1000


def test_a_chat_with_nothing_given_counts_zero() -> None:
    assert GivenInChat().counted_for_a_request == 0


# --- deciding an approval ---------------------------------------------------------------------

PENDING = AskedApproval("refund", 6000, "pending", requested_by=AGENT.id)
NOTHING_GIVEN = GivenInChat()


def decision_refusal(approval: AskedApproval, approve: bool, actor: Agent,
                     given: GivenInChat = NOTHING_GIVEN) -> tuple[int, str]:
    with pytest.raises(LedgerError) as refused:
        check_decision(approval, approve, actor, given, Limits())
    return refused.value.status, refused.value.code


def test_a_supervisor_approves_or_rejects_a_pending_request() -> None:
    check_decision(PENDING, True, SUPERVISOR, GivenInChat(), Limits())
    check_decision(PENDING, False, SUPERVISOR, GivenInChat(), Limits())


def test_an_agent_decides_no_approval() -> None:
    assert decision_refusal(PENDING, True, OTHER_AGENT) == (403, "forbidden")
    assert decision_refusal(PENDING, False, OTHER_AGENT) == (403, "forbidden")


def test_an_approval_is_decided_once() -> None:
    for status in ("approved", "rejected"):
        decided = AskedApproval("refund", 6000, status, AGENT.id)
        assert decision_refusal(decided, True, SUPERVISOR) == (409, "conflict")
        assert decision_refusal(decided, False, SUPERVISOR) == (409, "conflict")


def test_the_role_is_checked_before_the_status() -> None:
    decided = AskedApproval("refund", 6000, "approved", AGENT.id)
    assert decision_refusal(decided, True, OTHER_AGENT) == (403, "forbidden")


def test_nobody_approves_their_own_request_but_may_reject_it() -> None:
    own = AskedApproval("refund", 6000, "pending", requested_by=SUPERVISOR.id)
    assert decision_refusal(own, True, SUPERVISOR) == (403, "own_request")
    check_decision(own, False, SUPERVISOR, GivenInChat(), Limits())


def test_a_supervisor_approves_up_to_their_limit_with_what_the_chat_was_given() -> None:
    check_decision(PENDING, True, SUPERVISOR, GivenInChat(given=44000), Limits())
    assert decision_refusal(PENDING, True, SUPERVISOR, GivenInChat(given=44001)) == (
        403, "over_approval_limit")


def test_what_waits_for_approval_in_the_chat_does_not_count_against_the_approver() -> None:
    check_decision(PENDING, True, SUPERVISOR, GivenInChat(given=0, pending=50000), Limits())


def test_an_admin_approves_any_amount_and_anyone_may_reject_over_their_limit() -> None:
    check_decision(PENDING, True, ADMIN, GivenInChat(given=10**9), Limits())
    check_decision(PENDING, False, SUPERVISOR, GivenInChat(given=10**9), Limits())


# --- whom a verified purchase links -----------------------------------------------------------

def test_a_verified_purchase_links_a_chat_and_visitor_known_only_by_a_typed_email() -> None:
    assert purchase_links(chat()) == PurchaseLinks(conversation=True, visitor=True)
    assert purchase_links(chat(customer_id=None)) == PurchaseLinks(True, True)


def test_a_chat_linked_to_its_visitors_verified_identity_keeps_its_customer() -> None:
    assert purchase_links(chat(identity_of=CUSTOMER)) == PurchaseLinks(False, False)


def test_a_verified_visitor_in_a_chat_linked_elsewhere_links_the_chat_but_stays_themself(
        ) -> None:
    assert purchase_links(chat(identity_of=STRANGER)) == PurchaseLinks(True, False)
