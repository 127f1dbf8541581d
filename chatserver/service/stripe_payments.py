"""Stripe as a payment provider, through the official `stripe` package: refunds of orders
paid through Stripe (its async client, over httpx), and Stripe's webhooks, verified by the
package (`Stripe-Signature`, a timestamp within five minutes), which import orders and move
refunds on. What the events mean is domain/stripe_events.py's; where a refund stands,
domain/provider_refunds.py's.

A refund is asked for after its ledger entry is committed, never inside a transaction, with
the entry's own idempotency key: Stripe makes one refund however often it is asked. An
answer Stripe refused (a 4xx) fails the entry, which frees its amount. No answer at all
(the network, Stripe's 5xx, after the package's own retries) leaves it waiting: it is asked
for again, with the same key, every minute, and when the same request is sent again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
import stripe
from stripe.params import RefundCreateParams

from chatserver.config import Settings
from chatserver.domain import stripe_events
from chatserver.domain.clock import iso, now
from chatserver.domain.errors import Refused
from chatserver.domain.provider_refunds import RefundState
from chatserver.domain.shops import NoBuyer, invalid
from chatserver.service.news import ConversationNews
from chatserver.store import Store
from chatserver.store.base import StorageError
from chatserver.store.types import Outcome, RefundDue

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300  # a signed event older (or newer) than this is refused
NETWORK_RETRIES = 2  # the package's own, with the same idempotency key
TIMEOUT_SECONDS = 20
ASK_AGAIN_SECONDS = 60.0  # a refund Stripe has not answered is asked for again this often
# no answer from Stripe: the refund may or may not exist, so it stays waiting
NO_ANSWER = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)


class StripePayments:
    def __init__(self, settings: Settings, store: Store, news: ConversationNews) -> None:
        self.store = store
        self.news = news
        self.webhook_secret = settings.stripe_webhook_secret
        self.http = stripe.HTTPXClient(timeout=TIMEOUT_SECONDS)
        self.client = None if not settings.stripe_secret_key else stripe.StripeClient(
            settings.stripe_secret_key, base_addresses={"api": settings.stripe_api_base},
            http_client=self.http, max_network_retries=NETWORK_RETRIES)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.client is not None:
            self._task = asyncio.get_running_loop().create_task(self._ask_again_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.http.close_async()

    async def ask_again(self, waited: float = ASK_AGAIN_SECONDS) -> None:
        """Ask Stripe again, with the same keys, for refunds it has not answered for
        `waited` seconds (several processes may: Stripe still makes each once)."""
        for entry_id in await self.store.refunds_unanswered(iso(now() - waited)):
            await self.settle(entry_id)

    async def _ask_again_forever(self) -> None:
        while True:
            await asyncio.sleep(ASK_AGAIN_SECONDS)
            try:
                await self.ask_again()
            except StorageError as error:  # the database is away: next time
                log.warning("unanswered Stripe refunds not asked again: %s", error)

    def turned_on(self) -> dict[str, bool]:
        """Which of Stripe's parts the settings turn on (for the admin page)."""
        return {"refunds": self.client is not None, "webhooks": bool(self.webhook_secret)}

    async def settle(self, entry_id: int) -> None:
        """Ask Stripe for the entry's refund, if it still waits for a first answer."""
        due = await self.store.refund_due(entry_id)
        if due is None:
            return
        report = await self._refund(due)
        if report is not None:
            await self.store.settle_refund(entry_id, report, on_commit=self._announce)

    async def _refund(self, due: RefundDue) -> RefundState | None:
        if self.client is None:  # its key was removed since the entry was written
            return RefundState(None, "failed", "Stripe is not set up on this server")
        params: RefundCreateParams = {
            "amount": due.amount_cents, "metadata": {stripe_events.LEDGER_ID: str(due.entry_id)}}
        if due.payment_id.startswith("ch_"):
            params["charge"] = due.payment_id
        else:
            params["payment_intent"] = due.payment_id
        try:
            refund = await self.client.v1.refunds.create_async(
                params=params, options={"idempotency_key": due.key})
        except NO_ANSWER as error:
            log.warning("Stripe did not answer for ledger entry %s: %s", due.entry_id, error)
            return None
        except stripe.StripeError as error:
            return RefundState(None, "failed", f"Stripe: {error.user_message or 'refused'}")
        return stripe_events.refund_report(refund.to_dict())

    async def receive(self, raw: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
        """A webhook's event applied, and the answer: an order saved (201 when new), refunds
        moved on, or nothing (`ignored`: an event of no concern, a replay, one older than
        what it reports on)."""
        event = self._verified(raw, signature)
        kind, obj = event["type"], event["data"]["object"]
        if kind in stripe_events.ORDER_EVENTS:
            try:
                order = stripe_events.order_of(kind, obj, event["created"])
            except NoBuyer as reason:
                return 200, {"ignored": True, "why": str(reason)}
            saved = await self.store.webhook_order(order.fields, order.changed_at, event["id"])
            if saved is None:
                return 200, {"ignored": True}
            return (201 if saved.change == "created" else 200), {"order": saved.order}
        if kind in stripe_events.REFUND_EVENTS:
            moved = [await self.store.refund_reported(stripe_events.PROVIDER, report,
                                                      on_commit=self._announce)
                     for report in stripe_events.refunds_of(kind, obj)]
            refunds = [outcome.body["refund"] for outcome in moved if outcome is not None]
            return 200, {"refunds": refunds} if refunds else {"ignored": True}
        return 200, {"ignored": True}

    def _verified(self, raw: bytes, signature: str | None) -> dict[str, Any]:
        if not self.webhook_secret:
            raise Refused(401, "bad_signature", "no secret is set for Stripe-Signature: "
                          "webhooks are refused")
        try:  # the signature first (401), then what was signed (422)
            stripe.WebhookSignature.verify_header(raw.decode(), signature, self.webhook_secret,
                                                  tolerance=TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError:
            raise Refused(401, "bad_signature", "Stripe-Signature must sign this body and a "
                          "timestamp within 5 minutes with the endpoint's signing secret"
                          ) from None
        except UnicodeDecodeError:
            raise invalid("the body is not a JSON event") from None
        try:  # not stripe's construct_event: it fails on JSON that is not an object (a 500)
            found = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise invalid("the body is not a JSON event") from None
        if not (isinstance(found, dict) and isinstance(found.get("id"), str)
                and isinstance(found.get("type"), str)
                and isinstance(found.get("created"), int)
                and isinstance(found.get("data"), dict)
                and isinstance(found["data"].get("object"), dict)):
            raise invalid("an event has an id, a type, created and data.object")
        return found

    def _announce(self, outcome: Outcome | None) -> None:
        """The visitor hears what the refund became, in commit order."""
        if outcome is not None and outcome.notice is not None:
            self.news.system(outcome.notice, outcome.visitor_id)
