"""Who may give money where, who may decide an approval, and whom a verified purchase links:
rules over the facts the store gathers (the conversation, what it was given, the approval
asked for), no I/O.

Each check raises LedgerError with the status and code the API answers with, in the order the
contract gives (403 before 409).
"""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.domain.ledger import Kind, LedgerError, Limits, may_approve
from chatserver.domain.models import Agent, Integration


@dataclass(frozen=True)
class VerifiedOrder:
    """An order whose purchase was verified in a conversation, and its buyer (merges
    followed)."""

    order_id: int
    buyer_id: int | None


@dataclass(frozen=True)
class Chat:
    """The conversation money is given in, as the checks see it. Customer ids are the
    records that stand (merges followed)."""

    id: int
    agent_id: int | None
    customer_id: int | None  # the customer the conversation is linked to
    identity_of: int | None  # the customer its visitor proved to be (a verified identity)
    verified_orders: tuple[VerifiedOrder, ...] = ()


@dataclass(frozen=True)
class GivenInChat:
    """What a conversation was given of one kind, and what waits for approval in it: limits
    are per conversation."""

    given: int = 0
    pending: int = 0

    @property
    def counted_for_a_request(self) -> int:
        """A new request counts what waits too, so two requests cannot split a limit."""
        return self.given + self.pending

    @property
    def counted_for_an_approval(self) -> int:
        """An approver counts only what was given: each pending request is counted when it
        is approved."""
        return self.given


@dataclass(frozen=True)
class AskedApproval:
    """An approval as its decision sees it."""

    kind: Kind
    amount_cents: int
    status: str
    requested_by: int


def check_may_give(actor: Agent | Integration, chat: Chat | None, customer_id: int,
                   order_id: int | None) -> Agent:
    """Agents give money only in their own conversations and where the purchase or the
    customer is verified; whoever gives it, it is told only in that customer's chat. An
    integration token gives none (its 403, like an agent's, comes after the 404s). The agent
    who gives it."""
    if isinstance(actor, Integration):
        raise LedgerError(403, "integration_token", "an integration token writes orders and "
                          "reads customers; refunds and credits are given by agents")
    if actor.role == "agent":
        if chat is not None and chat.agent_id != actor.id:
            raise LedgerError(403, "forbidden", "that conversation is not assigned to you")
        check_verified(chat, customer_id, order_id)
    check_customers_chat(chat, customer_id)
    return actor


def check_verified(chat: Chat | None, customer_id: int, order_id: int | None) -> None:
    """An agent gives money only where the purchase (for a refund) or the customer (for a
    credit) is verified in the chat: never on the strength of an email a visitor typed."""
    if chat is None:
        raise LedgerError(403, "not_verified", "an agent refunds or credits within a "
                          "conversation where the purchase or the customer is verified")
    if chat.identity_of == customer_id and chat.customer_id == customer_id:
        return
    if order_id is not None and any(v.order_id == order_id for v in chat.verified_orders):
        return
    if order_id is None and any(v.buyer_id == customer_id for v in chat.verified_orders):
        return
    raise LedgerError(403, "not_verified", "verify the purchase (order number and email) or "
                      "the customer's identity first")


def check_customers_chat(chat: Chat | None, customer_id: int) -> None:
    """Money is told in a chat only to its customer: the chat is linked to them, or one of
    their purchases was verified in it."""
    if chat is None or chat.customer_id == customer_id:
        return
    if any(v.buyer_id == customer_id for v in chat.verified_orders):
        return
    raise LedgerError(422, "invalid", f"conversation {chat.id} is not this customer's: link "
                      "it to them or verify their purchase in it first")


@dataclass(frozen=True)
class PurchaseLinks:
    """Who a verified purchase's buyer becomes: the conversation's customer, and the
    visitor's (in their later chats too)."""

    conversation: bool
    visitor: bool


def purchase_links(chat: Chat) -> PurchaseLinks:
    """The buyer of a verified purchase outranks a link made from a typed email, but never a
    verified identity: a chat linked to its visitor's identity keeps its customer, and a
    verified visitor stays who they proved to be."""
    return PurchaseLinks(conversation=chat.identity_of is None
                         or chat.identity_of != chat.customer_id,
                         visitor=chat.identity_of is None)


def check_decision(approval: AskedApproval, approve: bool, actor: Agent, given: GivenInChat,
                   limits: Limits) -> None:
    """A supervisor or an admin decides a pending approval once; nobody approves their own
    request, nor more than their own limit allows with what the conversation was given."""
    if not actor.can_oversee:
        raise LedgerError(403, "forbidden", "only a supervisor or an admin decides approvals")
    if approval.status != "pending":
        raise LedgerError(409, "conflict", f"this approval is already {approval.status}")
    if not approve:
        return
    if approval.requested_by == actor.id:
        raise LedgerError(403, "own_request", "nobody approves their own request: another "
                          "supervisor or an admin decides it (you may reject it)")
    if not may_approve(actor.role, approval.kind, approval.amount_cents,
                       given.counted_for_an_approval, limits):
        raise LedgerError(403, "over_approval_limit", "with what this conversation was "
                          "already given, this is over what you may approve")
