"""Outgoing webhooks: the endpoints admins set, and the sender that posts the outbox's due
deliveries. The changes themselves write the outbox (the store's triggers), so nothing of
this is on a chat's path: the sender runs beside it, a bounded number of posts at a time,
each with a timeout, and an endpoint that is slow or gone only waits for its next try."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from chatserver.domain import webhooks
from chatserver.domain.attachments import Link
from chatserver.domain.clock import iso
from chatserver.domain.errors import Refused
from chatserver.service.console import Console
from chatserver.service.file_links import FileLinks
from chatserver.store import Store
from chatserver.store import clock as store_clock
from chatserver.store.base import (
    ClaimedDelivery,
    NewWebhookEndpoint,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)
TIMEOUT = 10.0  # seconds for one post, connecting included
CONCURRENCY = 8  # posts under way at once, per process
LEASE = 60.0  # seconds a claimed delivery is this process's (longer than a post can take)
LOOK_EVERY = 0.5  # seconds between two looks for due deliveries, when there were none
RECENT = 20  # deliveries listed with each endpoint
KEPT_FOR = 30 * 24 * 3600.0  # seconds a delivery done with is kept (then deleted)
TIDY_EVERY = 3600.0  # seconds between two deletions of those


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` names now."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in found]


async def _start_of(answer: httpx.Response) -> str:
    """The first characters of an answer's body, read no further (it could be huge)."""
    start = b""
    async for chunk in answer.aiter_bytes():
        start += chunk
        if len(start) >= 4 * webhooks.ANSWER_EXCERPT:  # enough for that many characters
            break
    return start.decode("utf-8", "replace")[:webhooks.ANSWER_EXCERPT]


class Webhooks:
    def __init__(self, store: Store, console: Console, allow_private: bool,
                 link: Link | None = None) -> None:
        """`link` signs the urls of the files messages carry (FileLinks)."""
        self.store = store
        self.link: Link = link or FileLinks(None)
        self.console = console
        self.allow_private = allow_private
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._posting: set[asyncio.Task[None]] = set()
        self._tidied_at = 0.0

    # --- what an admin does ---------------------------------------------------------------
    async def add_endpoint(self, url: str, events: tuple[str, ...]) -> NewWebhookEndpoint:
        """Refused 422 for an address that is not http(s), or (unless allowed) that is or
        resolves to a loopback, private or link-local one."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname \
                or len(url) > webhooks.MAX_URL:
            raise Refused(422, "invalid", "url is an http:// or https:// address")
        await self._address(url)
        return await self.store.add_webhook_endpoint(url, events, webhooks.new_secret())

    async def endpoints(self) -> list[WebhookEndpoint]:
        return await self.store.webhook_endpoints(RECENT)

    async def delete_endpoint(self, endpoint_id: int) -> None:
        await self.store.delete_webhook_endpoint(endpoint_id)

    async def resend(self, delivery_id: int) -> WebhookDelivery:
        return await self.store.resend_delivery(delivery_id)

    async def _address(self, url: str) -> str | None:
        """The address a post to `url` may go to, looked up now (a name checked once could
        later name another machine); None: wherever the name leads (private addresses are
        allowed). Refused 422 when it cannot be found or is not a public one."""
        if self.allow_private:
            return None
        parts = urlsplit(url)
        try:
            addresses = await resolve(parts.hostname or "",
                                      parts.port or (443 if parts.scheme == "https" else 80))
        except (OSError, UnicodeError):
            raise Refused(422, "invalid", f"{parts.hostname} cannot be resolved") from None
        forbidden = webhooks.forbidden_address(addresses)
        if forbidden is not None:
            raise Refused(422, "invalid", f"{parts.hostname} is a loopback, private or "
                                          f"link-local address ({forbidden})")
        return addresses[0]

    # --- the sender -------------------------------------------------------------------------
    def start(self) -> None:
        # no connection kept for the next post: posts go to an address under a name (see
        # `pinned`), and a connection opened for one name must not carry another's
        self._client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False,
                                         limits=httpx.Limits(max_keepalive_connections=0))
        self._task = asyncio.get_running_loop().create_task(self._send_due())

    async def stop(self) -> None:
        """Posts under way are dropped: their claims lapse, and they are tried again."""
        for task in (self._task, *self._posting):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._client is not None:
            await self._client.aclose()

    async def _send_due(self) -> None:
        while True:
            claimed: list[ClaimedDelivery] = []
            free = CONCURRENCY - len(self._posting)
            try:
                await self._tidy()
                if free:
                    claimed = await self.store.claim_deliveries(store_clock.now(), LEASE, free)
            except Exception:
                log.exception("claiming webhook deliveries failed")
            for delivery in claimed:
                task = asyncio.get_running_loop().create_task(self._post(delivery))
                self._posting.add(task)
                task.add_done_callback(self._posting.discard)
            if not claimed:
                await asyncio.sleep(LOOK_EVERY)

    async def _tidy(self) -> None:
        """Once an hour, forget the deliveries done with over KEPT_FOR ago (one a message
        and endpoint would otherwise pile up for ever)."""
        now = store_clock.now()
        if now - self._tidied_at >= TIDY_EVERY:
            self._tidied_at = now
            await self.store.forget_deliveries(iso(now - KEPT_FOR))

    async def _post(self, delivery: ClaimedDelivery) -> None:
        try:
            body = delivery.body or orjson.dumps({
                "type": delivery.type, "timestamp": delivery.created_at,
                "data": await self._data(delivery.type, delivery.subject)}).decode()
            status, excerpt = await self._answer(delivery, body)
            delivered = status is not None and 200 <= status < 300
            delay = None if delivered else webhooks.retry_delay(delivery.attempts)
            await self.store.finish_delivery(
                delivery.id, body, status, excerpt, delivered,
                None if delay is None else store_clock.now() + delay)
        except Exception:  # its claim lapses, and it is tried again
            log.exception("webhook delivery %s failed", delivery.id)

    async def _answer(self, delivery: ClaimedDelivery, body: str) -> tuple[int | None, str]:
        """The endpoint's answer to the post: its status and the start of its body (no
        status: why there was no answer)."""
        try:
            address = await self._address(delivery.url)
        except Refused as refusal:
            return None, f"not sent: {refusal.message}"
        content = body.encode()
        sent_at = int(store_clock.now())
        webhook_id = webhooks.webhook_id(delivery.id)
        headers = {"content-type": "application/json", "webhook-id": webhook_id,
                   "webhook-timestamp": str(sent_at),
                   "webhook-signature": webhooks.signature(delivery.secret, webhook_id,
                                                           sent_at, content)}
        url, extensions = delivery.url, {}
        if address is not None:  # to the address checked, under the name
            url, headers["host"], tls_name = webhooks.pinned(delivery.url, address)
            extensions = {"sni_hostname": tls_name} if tls_name else {}
        assert self._client is not None
        try:  # the whole exchange within TIMEOUT: an answer that trickles in holds no slot
            async with asyncio.timeout(TIMEOUT), self._client.stream(
                    "POST", url, content=content, headers=headers,
                    extensions=extensions) as answer:
                return answer.status_code, await _start_of(answer)
        except (httpx.HTTPError, TimeoutError) as error:
            return None, f"no answer: {type(error).__name__} {error}"[:webhooks.ANSWER_EXCERPT]

    async def _data(self, kind: str, subject: int) -> dict[str, Any] | None:
        """What changed, as the REST API shows it now (None: it is gone)."""
        if kind.startswith("conversation."):
            conversation = await self.store.conversation(subject)
            return (await self.console.record(conversation))["conversation"] \
                if conversation else None
        if kind == "message.created":
            message = await self.store.message(subject)
            return message.for_agent(self.link) if message else None
        if kind == "follow_up.due":
            with contextlib.suppress(Refused):
                return dict(await self.store.follow_up(subject))
            return None
        return await self.store.ledger_entry(subject)
