"""The Store interface: everything the service, the web layer and the CLI ask of storage.

Writes that change a conversation take `on_commit`, called once the write is durable and in
commit order (that is where the caller announces it). What the methods take and give back,
and the refusals they raise, are plain data in `store/types.py`, part of this interface.
SQLite implements it today (the package `chatserver.store.sqlite`); a PostgreSQL store for
several servers implements the same (see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Awaitable
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any, NamedTuple, NotRequired, Protocol, TypedDict

from chatserver.domain.attachments import Attachment, NewAttachment
from chatserver.domain.ledger import Limits, MoneyRequest
from chatserver.domain.models import (
    Agent,
    Author,
    Conversation,
    Integration,
    Message,
    Visitor,
    VisitorDetails,
)
from chatserver.domain.provider_refunds import RefundState, Reported
from chatserver.domain.reports import Chat, Money
from chatserver.store.types import (
    Changed,
    IdempotencyKey,
    OnCommit,
    OrderChange,
    Outcome,
    Picture,
    Posted,
    RefundDue,
)

RETRY_AFTER_SECONDS = 10  # what a refused caller is told to wait before sending again


class StorageError(Exception):
    """Storage failed. `unavailable` says why when it refused for now (the disk is full,
    another server holds the write lock): nothing of the write is stored, so the caller may
    send it again later. None: a fault of ours."""

    def __init__(self, message: str, unavailable: str | None = None) -> None:
        super().__init__(message)
        self.unavailable = unavailable


def unavailable(error: BaseException) -> str | None:
    """Why storage refused, as an `unavailable` error's message; None for any other error."""
    return error.unavailable if isinstance(error, StorageError) else None


class AlreadyExists(Exception):
    pass


# --- what the console's lists, follow-ups, canned responses, admin and reports return ------
INBOX_VIEWS = ("mine", "queued", "open", "closed", "all")


class AgentRef(TypedDict):
    id: int
    name: str


class InboxEntry(TypedDict):
    """A conversation as the console lists it."""
    id: int
    status: str
    created_at: str
    waiting_since: str
    closed_at: str | None
    escalated_at: str | None
    escalation_note: str | None
    rating: int | None
    customer_id: int | None
    agent: AgentRef | None
    visitor: dict[str, Any]  # Visitor.public()
    last_message: str | None
    unread: int  # the visitor's messages its agent has not read
    unanswered_since: str | None  # the oldest visitor message no agent has answered yet
    erased: bool  # its texts erased: its customer's on request, or past the retention period
    snippet: NotRequired[str | None]  # in a search: the words found, in their context


class FollowUpVisitor(TypedDict):
    name: str | None
    email: str | None


class FollowUp(TypedDict):
    """An agent's promise to get back to the visitor by `due_at`."""
    id: int
    conversation_id: int
    due_at: str
    note: str
    created_at: str
    done_at: str | None
    overdue: bool
    agent: AgentRef
    visitor: FollowUpVisitor


class Canned(TypedDict):
    id: int
    shortcut: str
    text: str


class AgentAccount(TypedDict):
    """An agent as an admin manages them."""
    id: int
    name: str
    role: str
    capacity: int
    status: str
    email: str
    disabled: bool


class AgentChanges(TypedDict):
    """What an admin changes of an agent (None: unchanged)."""
    name: str | None
    role: str | None
    capacity: int | None
    disabled: bool | None
    password_hash: str | None


class ApiToken(TypedDict):
    """An API token, never its secret; an integration token acts for no agent."""
    id: int
    agent_id: int | None
    agent_name: str | None
    label: str | None
    created_at: str
    revoked_at: str | None
    integration: bool


class NewToken(TypedDict):
    """A token just made: its secret is shown this once."""
    id: int
    agent_id: int | None
    label: str | None
    integration: bool
    token: str


class WebhookDelivery(TypedDict):
    """One event for one endpoint, and how its sending goes."""
    id: int
    webhook_id: str  # its `webhook-id` header, the same on every try
    endpoint_id: int
    type: str
    subject: int  # the id of what changed (a conversation, a message, a ledger entry ...)
    created_at: str
    status: str  # pending, delivered or failed (given up)
    attempts: int
    next_at: str | None  # when it is tried next (pending ones)
    answer_status: int | None  # the last answer's HTTP status (None: no answer)
    answer_excerpt: str | None  # the start of its body, or why there was none
    tried_at: str | None


class WebhookEndpoint(TypedDict):
    """An endpoint, never its secret (shown once, when it is made)."""
    id: int
    url: str
    events: list[str]
    created_at: str
    deliveries: list[WebhookDelivery]  # the most recent, newest first


class NewWebhookEndpoint(WebhookEndpoint):
    secret: str


class ClaimedDelivery(NamedTuple):
    """A delivery this process is to try now (no other will until `lease` has passed)."""
    id: int
    type: str
    subject: int
    created_at: str
    attempts: int  # this try counted
    body: str | None  # as sent the first time (None: never sent yet)
    url: str
    secret: str


class PrivacyFacts(NamedTuple):
    """Everything held about one customer and their visitors (Store.privacy_facts)."""
    customer: dict[str, Any]  # as Store.customer gives it: orders, ledger, approvals, audit
    visitors: list[dict[str, Any]]  # by id
    conversations: list[dict[str, Any]]  # by id
    messages: list[Message]  # of those conversations, notes too: by conversation, then time
    follow_ups: list[FollowUp]  # by id


class Erased(NamedTuple):
    """What an erase went over: the live caches forget these visitors and conversations."""
    customer_id: int
    visitor_ids: list[str]
    conversation_ids: list[int]


ERASED = "[erased]"  # what an erased text reads


class ReportFacts(NamedTuple):
    chats: list[Chat]
    money: list[Money]


class Routing(Protocol):
    """One routing change (Store.routing): a transaction that took the routing lock first,
    so routing changes of every process happen one at a time. Its writes are the Store's
    guarded ones; their `on_commit` runs once the whole change is committed."""

    version: int  # the routing version this change raised it to
    now: float  # the database clock, read once the lock was taken

    async def picture(self) -> Picture: ...
    async def connect(self, process_id: int, agent_id: int) -> None:
        """A live connection of the agent through that process (their grace is over)."""
        ...
    async def disconnect(self, process_id: int, agent_id: int) -> bool:
        """One of the agent's connections through that process gone; True when it was their
        last live one anywhere (their grace period starts now)."""
        ...
    async def set_presence(self, agent_id: int, status: str) -> None: ...
    async def reap(self, silent_for: float) -> list[int]:
        """Forget the processes silent (no heartbeat) for longer than `silent_for` seconds
        and their connections; the agents left with no live connection (grace starts)."""
        ...
    async def end_process(self, process_id: int) -> list[int]:
        """A process stops: as `reap`, for that one."""
        ...
    async def replace_process(self, process_id: int) -> list[int]:
        """A process (re)started: as `reap`, for the earlier ones of its name (the same
        server restarted before it was taken for dead)."""
        ...
    async def assign(self, conversation_id: int, agent_id: int, note: str,
                     from_agent: int | None = None,
                     on_commit: OnCommit[Changed] = None) -> Changed: ...
    async def requeue(self, conversation_id: int, from_agent: int, rank: float, note: str,
                      on_commit: OnCommit[Changed] = None) -> Changed: ...
    async def close_conversation(self, conversation_id: int, closed_by: str, note: str,
                                 on_commit: OnCommit[Changed] = None) -> Changed: ...


class Store(Protocol):
    async def close(self) -> None: ...

    async def secret(self, name: str) -> str:
        """A random secret made on first use and kept (the session key when none is set)."""
        ...

    async def setting(self, name: str) -> str | None:
        """A setting kept in the database (set from the console), or None."""
        ...
    async def set_setting(self, name: str, value: str) -> None: ...

    # agents and their API tokens
    async def add_agent(self, email: str, name: str, role: str, capacity: int,
                        password_hash: str | None) -> Agent: ...
    async def agent(self, agent_id: int) -> Agent | None: ...
    async def agent_login(self, email: str) -> tuple[Agent, str | None] | None: ...
    async def agents(self) -> list[Agent]: ...
    async def set_password(self, agent_id: int, password_hash: str) -> None: ...
    async def set_presence(self, agent_id: int, status: str) -> None: ...
    async def create_token(self, agent_id: int | None, label: str | None) -> str:
        """A new API token for the agent, or (None) an integration token."""
        ...
    async def agent_by_token(self, token: str) -> Agent | None: ...
    async def integration_by_token(self, token: str) -> Integration | None: ...
    async def token_id(self, token: str) -> int | None: ...
    async def create_session(self, agent_id: int) -> str: ...
    async def session(self, session_id: str) -> tuple[Agent, str] | None: ...
    async def end_sessions(self, agent_id: int, session_id: str | None = None,
                           kept: str | None = None) -> None: ...

    # visitors
    async def visitor_by_token(self, token: str) -> Visitor | None: ...
    async def create_visitor(self, details: VisitorDetails) -> tuple[Visitor, str]:
        """A new visitor with the `DETAILS` given (other keys ignored), and their token."""
        ...
    async def update_visitor(self, visitor: Visitor, details: VisitorDetails) -> Visitor: ...
    async def verify_visitor(self, visitor: Visitor, token: str, user_id: str, email: str,
                             name: str | None) -> Visitor: ...
    async def visitor(self, visitor_id: str) -> Visitor | None: ...

    # conversations and messages
    async def conversation(self, conversation_id: int) -> Conversation | None: ...
    async def current_conversation(self, visitor_id: str) -> Conversation | None: ...
    async def latest_closed(self, visitor_id: str) -> Conversation | None: ...
    async def visitor_conversations(self, visitor_id: str) -> list[Conversation]:
        """Every conversation of this visitor (their token's, not their customer's), oldest
        first."""
        ...
    async def open_conversations(self) -> list[tuple[Conversation, float | None]]: ...
    async def recent_waits(self, count: int) -> list[float]: ...
    async def agent_conversations(self, agent_id: int) -> list[Conversation]: ...
    async def messages(self, conversation_id: int, after_seq: int = 0,
                       notes: bool = False) -> list[Message]: ...
    async def message_by_client_id(self, author: Author, client_id: str) -> Message | None: ...
    # the two per-message writes are plain functions returning the commit's future
    def post_visitor_message(self, author: Author, client_id: str, text: str,
                             rank: float | None, on_commit: OnCommit[Posted] = None,
                             attachment_id: int | None = None) -> Awaitable[Posted]:
        """`rank`: the place in the queue of a conversation it opens; None: now, by the
        store's clock (the database's own where several processes share it: queue order
        is then one clock's, whatever the processes' clocks say). `attachment_id`: a file
        the author uploaded and has not sent, which the message carries and its
        conversation then holds (else `NotSendable`, nothing written); a resend carries
        nothing new."""
        ...
    def post_agent_message(self, conversation_id: int, author: Author, client_id: str,
                           text: str, private: bool, on_commit: OnCommit[Posted] = None,
                           attachment_id: int | None = None) -> Awaitable[Posted]: ...
    # routing writes are guarded: each raises `Stale` and writes nothing when the
    # conversation is no longer as the caller saw it, so no stale decision makes two agents
    async def assign(self, conversation_id: int, agent_id: int, note: str,
                     from_agent: int | None = None,
                     on_commit: OnCommit[Changed] = None) -> Changed:
        """Give a queued conversation to `agent_id`; with `from_agent` (a transfer), an
        active one still with that agent instead."""
        ...
    async def requeue(self, conversation_id: int, from_agent: int, rank: float, note: str,
                      on_commit: OnCommit[Changed] = None) -> Changed:
        """Send an active conversation still with `from_agent` back to the queue at `rank`."""
        ...
    async def close_conversation(self, conversation_id: int, closed_by: str, note: str,
                                 on_commit: OnCommit[Changed] = None) -> Changed:
        """Close an open conversation (a second close changes nothing)."""
        ...
    # routing across processes: the registry of live server processes and their agents'
    # connections (heartbeats by the database clock), and the routing transaction
    def routing(self) -> AbstractAsyncContextManager[Routing]: ...
    async def routing_picture(self) -> Picture:
        """The routing picture as last committed (a read: no lock taken)."""
        ...
    async def register_process(self, name: str) -> int:
        """A new server process, alive now, under a name that stays the same when it is
        restarted (host and port); its id."""
        ...
    async def heartbeat(self, process_id: int) -> bool:
        """The process is alive now; False when it had been reaped as dead (it is back in
        the registry, without connections: the caller records its own again)."""
        ...
    async def live_processes(self, within: float) -> list[int]:
        """The processes that heartbeat within the last `within` seconds."""
        ...
    async def mark_read(self, conversation_id: int, role: str, seq: int) -> int: ...
    async def claim_emailed(self, conversation_id: int, seen: int, upto: int) -> bool:
        """Move the conversation's `emailed_seq` from `seen` to `upto` if it is still `seen`:
        whether this caller won the right to email those answers (every server process may
        try; one wins). Claiming back from `upto` to `seen` gives the right up again."""
        ...
    async def rate(self, conversation_id: int, score: int, comment: str | None) -> None: ...

    # customers, orders and money (the ledger and approvals): each write is one transaction
    # that gathers the facts, asks the rules in domain/ledger.py and domain/money_checks.py,
    # and writes the outcome; a refused action raises LedgerError and writes nothing
    async def upsert_order(self, fields: dict[str, Any]) -> OrderChange:
        """Save an order by its `external_id` (its buyer found or made by email)."""
        ...
    async def webhook_order(self, fields: dict[str, Any], timestamp: int,
                            signature: str) -> OrderChange | None:
        """A signed webhook's order saved; None (nothing changed) for an exact replay or one
        older than the last applied to that order."""
        ...
    async def refund_elsewhere(self, shop_ref: str, refund_id: str,
                               cents: int) -> OrderChange | None:
        """A refund made in the shop's platform, for the order it calls `shop_ref` (as an
        order from it was saved with): added to the order's `shop_refunded_cents` once by
        `refund_id`; None when no order has that reference."""
        ...
    async def money_request(self, req: MoneyRequest, key: IdempotencyKey, limits: Limits,
                            providers: frozenset[str],
                            on_commit: OnCommit[Outcome] = None) -> Outcome:
        """A refund or credit, done (201) or waiting for approval (202), once per key: the
        same key and body replay the first answer, another body is refused (422). A refund
        of an order from one of `providers` (those turned on) is that provider's, waiting for
        it (`provider_status` pending, no visitor notice yet); anything else is `manual`."""
        ...
    async def decide_approval(self, approval_id: int, approve: bool, actor: Agent,
                              note: str | None, limits: Limits, providers: frozenset[str],
                              on_commit: OnCommit[Outcome] = None) -> Outcome: ...
    async def refund_due(self, entry_id: int) -> RefundDue | None:
        """The entry's refund when it still waits for its provider's first answer."""
        ...
    async def settle_refund(self, entry_id: int, report: RefundState,
                            on_commit: OnCommit[Outcome] = None) -> Outcome:
        """The provider's answer about the entry's refund applied (provider_refunds.after),
        with the visitor's notice if one is due; the body's `refund` is the entry after."""
        ...
    async def refunds_unanswered(self, since_before: str) -> list[int]:
        """Entries whose provider has not answered since before `since_before` (ISO time):
        a lost connection, or a restart between the entry's commit and the call."""
        ...
    async def refund_reported(self, provider: str, report: Reported,
                              on_commit: OnCommit[Outcome | None] = None) -> Outcome | None:
        """As `settle_refund`, for the entry whose refund the provider calls by that id, else
        for the entry the report names if its refund still has no id; None when no entry is
        found (a refund made elsewhere)."""
        ...
    # --- attachments (issue 15) ----------------------------------------------------------
    async def save_attachment(self, new: NewAttachment) -> Attachment:
        """The file kept, durably, its uploader's until a message carries it."""
        ...
    async def attachment(self, attachment_id: int) -> Attachment | None: ...
    async def attachment_content(self, attachment_id: int,
                                 thumbnail: bool = False) -> bytes | None:
        """The file's bytes (or its thumbnail's: None for a file without one)."""
        ...
    async def uploaded_since(self, kind: str, uploader_id: str,
                             since: str) -> tuple[int, int]:
        """How many files, and how many bytes, the uploader sent from `since` (ISO time)."""
        ...
    async def verify_purchase(self, conversation_id: int, order_number: str, email: str,
                              actor: Agent, on_commit: OnCommit[Outcome] = None) -> Outcome:
        """The order bought with this number and email is verified in the conversation."""
        ...
    async def link_customer(self, conversation_id: int, customer_id: int,
                            actor: Agent) -> Outcome: ...
    async def customer(self, customer_id: int) -> dict[str, Any] | None:
        """Everything about a customer (merges followed), or None if there is none."""
        ...
    async def customers_by_email(self, email: str) -> list[dict[str, Any]]: ...
    async def approvals(self, status: str | None,
                        requested_by: int | None) -> list[dict[str, Any]]: ...

    # --- the console: inbox and search, escalation, follow-ups, canned responses ---------
    async def inbox(self, view: str, agent_id: int, oversee: bool, query: str | None,
                    limit: int) -> list[InboxEntry]:
        """A view (one of INBOX_VIEWS) of conversations as the agent may see them; with
        `query`, only those whose transcript or customer's name matches every word of it
        (raises Refused 422 for a query that is no words, or too long), each with its
        snippet. Every message committed before the call is searched."""
        ...
    async def unanswered(self, before: str, limit: int) -> list[InboxEntry]:
        """Open conversations whose visitor has waited unanswered since `before` (ISO time)
        or longer, as `inbox` shows them: the watch's question, without reading them all."""
        ...
    async def history(self, conversation_id: int) -> list[InboxEntry]:
        """The visitor's (and their customer's) other conversations, newest first."""
        ...
    async def escalate(self, conversation_id: int, note: str | None, announcement: str,
                       on_commit: OnCommit[Message] = None) -> Message:
        """Mark the open conversation escalated and post the system message `announcement`
        in it (Refused 404 when it is closed or unknown)."""
        ...
    async def add_follow_up(self, conversation_id: int, agent_id: int, due_at: str,
                            note: str, announcement: str,
                            on_commit: OnCommit[tuple[FollowUp, Message]] = None
                            ) -> tuple[FollowUp, Message]:
        """Keep the agent's promise, posting the system message `announcement` to the
        visitor (Refused 404 for an unknown conversation)."""
        ...
    async def follow_up(self, follow_up_id: int) -> FollowUp:
        """Refused 404 when there is no such follow-up."""
        ...
    async def follow_ups(self, agent_id: int | None, include_done: bool) -> list[FollowUp]:
        """Open follow-ups (and done ones if asked), soonest due first; one agent's or all."""
        ...
    async def complete_follow_up(self, follow_up_id: int) -> FollowUp:
        """Done (once: the first time stays); Refused 404 when there is no such follow-up."""
        ...
    async def claim_alert(self, kind: str, subject: int, mark: str) -> bool:
        """Whether this caller is the first to raise the alert `kind` about `subject` (a
        conversation, a follow-up) at `mark` (say, since when it waits): each is raised
        once, however many server processes notice it."""
        ...
    async def canned(self) -> list[Canned]: ...
    async def add_canned(self, shortcut: str, text: str) -> Canned:
        """Refused 409 when the shortcut is taken."""
        ...
    async def delete_canned(self, canned_id: int) -> None:
        """Refused 404 when there is no such canned response."""
        ...

    # --- admin: agents and API tokens, audited; the reports' facts ------------------------
    async def agent_accounts(self) -> list[AgentAccount]:
        """Every agent, by name."""
        ...
    async def add_agent_account(self, email: str, name: str, role: str, capacity: int,
                                password_hash: str | None, actor_id: int) -> AgentAccount:
        """Refused 409 when the email is taken."""
        ...
    async def change_agent_account(self, agent_id: int, changes: AgentChanges,
                                   actor_id: int) -> AgentAccount:
        """Refused 404 when there is no such agent."""
        ...
    async def api_tokens(self, agent_id: int | None) -> list[ApiToken]:
        """One agent's tokens, or (None) all of them, integration tokens too."""
        ...
    async def issue_token(self, agent_id: int | None, label: str | None,
                          actor_id: int) -> NewToken:
        """A token acting as the agent (Refused 404 for an unknown one), or (None) an
        integration token for the shop's systems."""
        ...
    async def revoke_token(self, token_id: int, agent_id: int | None, actor_id: int
                           ) -> int | None:
        """Revoke a token (only the agent's own unless `agent_id` is None: an admin);
        returns whose it was (None: an integration token's). Refused 404 when not found."""
        ...
    # --- outgoing webhooks: endpoints, and the outbox the changes write (by triggers) ----
    async def add_webhook_endpoint(self, url: str, events: tuple[str, ...],
                                   secret: str) -> NewWebhookEndpoint: ...
    async def webhook_endpoints(self, recent: int) -> list[WebhookEndpoint]:
        """Every endpoint with its `recent` latest deliveries."""
        ...
    async def delete_webhook_endpoint(self, endpoint_id: int) -> None:
        """The endpoint and its deliveries; Refused 404 when there is no such endpoint."""
        ...
    async def resend_delivery(self, delivery_id: int) -> WebhookDelivery:
        """Due again now with the same id and body, its tries counted anew; Refused 404."""
        ...
    async def claim_deliveries(self, now: float, lease: float,
                               limit: int) -> list[ClaimedDelivery]:
        """Up to `limit` pending deliveries due by `now`, claimed until `now + lease` (one
        process claims each; a claim not finished by then is due again)."""
        ...
    async def finish_delivery(self, delivery_id: int, body: str, answer_status: int | None,
                              answer_excerpt: str, delivered: bool,
                              next_at: float | None) -> None:
        """A try's outcome: delivered, due again at `next_at`, or (None) given up."""
        ...
    async def forget_deliveries(self, before: str) -> int:
        """Delete the deliveries done with (delivered or given up) made before `before` (ISO
        time); how many."""
        ...
    # --- privacy: a customer's data exported or erased on request, and retention --------
    async def privacy_facts(self, customer_id: int) -> PrivacyFacts | None:
        """Everything held about the customer (merges followed) and their visitors; None
        when there is no such customer."""
        ...
    async def erase_customer(self, customer_id: int, actor_id: int | None,
                             reason: str) -> Erased | None:
        """Erase the customer's and their visitors' personal data and their conversations'
        texts and files (ledger amounts stay), audited with `reason`; a second erase is
        harmless.
        None: no such customer; Refused 409 while one of their conversations is open."""
        ...
    async def erase_closed_before(self, before: str, limit: int) -> list[int]:
        """Erase up to `limit` closed conversations closed before `before` (ISO time) and not
        erased yet, oldest first, as an erase does; their ids."""
        ...
    async def message(self, message_id: int) -> Message | None: ...
    async def ledger_entry(self, entry_id: int) -> dict[str, Any] | None: ...

    async def report_facts(self, first: date, last: date) -> ReportFacts:
        """The conversations started and the money moved from the first day to the last
        (UTC), inclusive."""
        ...
