"""The Redis bus: the news between the processes that are one server.

Every process publishes through Redis and hears through it, its own events included, so all
of them see one order. Publishing never blocks: events wait in a bounded outbox that one
writer sends, what has gathered in one MULTI/EXEC (the copies of an event sent to several
topics go together, so a subscriber hearing two of them gets them one right after the other
and keeps one). Hearing is one pub/sub connection per process (`redis_link.PubSubLink`). When
the news may have been lost (that connection dropped, publishing failed, the outbox filled)
every local subscription is cut off: the sockets close with 1013 and resume from the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from chatserver.bus.base import Event, Offer
from chatserver.bus.local import LocalSubscription, Topics
from chatserver.bus.redis_link import PubSubLink
from chatserver.redis_url import RedisUrl

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 10_000  # events waiting to be sent: past this, Redis is not keeping up
BATCH = 500  # events sent in one MULTI/EXEC, give or take the copies of the last one
CONNECT_TIMEOUT = 5.0  # seconds
FLUSH_PATIENCE = 5.0  # seconds closing waits for the outbox to be sent


class RedisBus:
    def __init__(self, url: RedisUrl) -> None:
        self._prefix = url.prefix
        self._client = Redis.from_url(url.address, socket_connect_timeout=CONNECT_TIMEOUT)
        self._outbox: deque[tuple[str, Event]] = deque()
        self._has_news = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._link: PubSubLink | None = None
        self._links: list[PubSubLink] = []  # every one opened, to be closed at the end
        self._linking = asyncio.Lock()
        self._closed = False
        self._dropping = False  # the outbox filled: events are dropped until Redis takes some

    def publish(self, topic: str, event: Event) -> None:
        if self._closed:
            return
        if len(self._outbox) >= OUTBOX_LIMIT:
            self._lose(f"more than {OUTBOX_LIMIT} events waited to be sent")
            self._dropping = True
            return
        self._outbox.append((topic, event))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())
        self._has_news.set()

    async def subscribe(self, topics: list[str], capacity: int = 256,
                        offer: Offer | None = None) -> LocalSubscription:
        link = await self._current_link()
        if link is None:  # no Redis: as if the connection dropped at once
            subscription = Topics().subscribe(topics, capacity)[0]
            subscription.cut_off()
            return subscription
        return await link.subscribe(topics, capacity, offer)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._has_news.set()
            try:
                await asyncio.wait_for(self._writer, FLUSH_PATIENCE)
            except TimeoutError:
                log.warning("closing the bus: %d events could not be sent", len(self._outbox))
        for link in self._links:
            await link.close()
        await self._client.aclose()

    async def _current_link(self) -> PubSubLink | None:
        async with self._linking:
            if self._closed:
                return None
            if self._link is None or self._link.lost:
                pool = self._client.connection_pool
                connection = pool.connection_class(**{
                    **pool.connection_kwargs, "client_name": f"chatserver-bus:{self._prefix}",
                    "socket_timeout": None})  # it waits for news, however long
                try:
                    self._link = await PubSubLink.open(connection, self._prefix)
                except (RedisError, OSError) as error:
                    log.warning("Redis unreachable for pub/sub: %s", error)
                    return None
                self._links = [link for link in self._links if not link.finished]
                self._links.append(self._link)
            return self._link

    def _lose(self, reason: str) -> None:
        """The news may be lost: every subscription here is cut off (and it is said once)."""
        if self._link is not None and not self._link.lost:
            self._link.lose(reason)
        elif not self._dropping:
            log.warning("Redis bus: %s", reason)

    async def _write(self) -> None:
        while not (self._closed and not self._outbox):
            await self._has_news.wait()
            self._has_news.clear()
            while self._outbox:
                await self._send(self._next_batch())

    def _next_batch(self) -> list[tuple[str, Event]]:
        batch = [self._outbox.popleft()]
        while self._outbox and (len(batch) < BATCH or self._outbox[0][1].id == batch[-1][1].id):
            batch.append(self._outbox.popleft())
        return batch

    async def _send(self, batch: list[tuple[str, Event]]) -> None:
        pipe = self._client.pipeline(transaction=True)
        last: Event | None = None
        payload = b""
        for topic, event in batch:
            if event is not last:  # one event to several topics is encoded once
                last, payload = event, orjson.dumps({"id": event.id, "frame": event.frame})
            pipe.publish(self._prefix + topic, payload)
        try:
            await pipe.execute()
        except Exception as error:  # Redis unreachable, or an event that cannot be sent
            self._lose(f"publishing failed: {error}")
        else:
            self._dropping = False
