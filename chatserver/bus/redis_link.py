"""A process's one pub/sub connection to Redis, for as long as it lasts.

Channels are subscribed as their first local subscriber appears and unsubscribed as the last
leaves; what arrives is handed to the local subscriptions. A link is lost once and never
reconnected: every subscription it carried is cut off (SubscriptionOverflow: the sockets
resume from the store), and the bus opens a new link for the next subscriber. redis-py's own
PubSub re-subscribes silently after a reconnect, and what was published meanwhile is lost
without a word."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

import orjson
from redis.asyncio.connection import AbstractConnection

from chatserver.bus.base import Event, Offer
from chatserver.bus.local import LocalSubscription, Topics

log = logging.getLogger(__name__)

CONFIRM_PATIENCE = 10.0  # seconds Redis has to confirm a subscription before it counts as lost
# A link that went quiet without closing (a peer gone, no RST) would hear nothing for good:
# it is pinged every PING_EVERY seconds, and lost when nothing came back for SILENCE_LIMIT.
PING_EVERY = 5.0
SILENCE_LIMIT = 15.0


class PubSubLink:
    def __init__(self, connection: AbstractConnection, prefix: str) -> None:
        self._connection = connection
        self._prefix = prefix
        self._prefix_bytes = prefix.encode()
        self.topics = Topics(emptied=self._unsubscribe)
        self._commands: deque[list[str]] = deque()  # what the sender writes next, in order
        self._has_commands = asyncio.Event()
        # a topic's latest SUBSCRIBE, and every one not yet confirmed (Redis answers in order)
        self._ready: dict[str, asyncio.Future[None]] = {}
        self._confirming: dict[bytes, deque[asyncio.Future[None]]] = {}
        self.lost = False
        self._task: asyncio.Task[None] | None = None
        self._heard_at = 0.0  # the loop's time of the last reply of any kind

    @classmethod
    async def open(cls, connection: AbstractConnection, prefix: str) -> PubSubLink:
        await connection.connect()
        link = cls(connection, prefix)
        link._task = asyncio.get_running_loop().create_task(link._live())
        return link

    @property
    def finished(self) -> bool:
        """Lost, and its connection closed."""
        return self._task is not None and self._task.done()

    async def subscribe(self, topics: list[str], capacity: int, offer: Offer | None = None
                        ) -> LocalSubscription:
        """A subscription confirmed by Redis (or cut off, if the link was lost meanwhile)."""
        subscription, new = self.topics.subscribe(topics, capacity, offer)
        if new:
            loop = asyncio.get_running_loop()
            for topic in new:
                self._ready[topic] = confirmed = loop.create_future()
                self._confirming.setdefault(self._channel(topic), deque()).append(confirmed)
            self._send("SUBSCRIBE", new)
        pending = [ready for topic in topics
                   if (ready := self._ready.get(topic)) is not None and not ready.done()]
        if pending:
            try:
                _, late = await asyncio.wait(pending, timeout=CONFIRM_PATIENCE)
            except BaseException:
                subscription.close()
                raise
            if late:
                self.lose(f"no confirmation of a subscription in {CONFIRM_PATIENCE:g} s")
        return subscription

    def lose(self, reason: str) -> None:
        """The news stopped: cut off every subscription, and stop."""
        if self.lost:
            return
        log.warning("Redis pub/sub connection lost (%s): its subscribers resume from the store",
                    reason)
        self._stop()
        self.topics.cut_off_all()

    async def close(self) -> None:
        """Stop, dropping the subscriptions (the bus closes)."""
        self.topics.clear()
        self._stop()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def _stop(self) -> None:
        self.lost = True
        for waiting in self._confirming.values():
            for confirmed in waiting:
                if not confirmed.done():
                    confirmed.set_result(None)  # its subscriber sees the link lost
        self._confirming.clear()
        self._ready.clear()
        self._commands.clear()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    def _channel(self, topic: str) -> bytes:
        return self._prefix_bytes + topic.encode()

    def _send(self, command: str, topics: list[str]) -> None:
        if not self.lost:
            self._commands.append([command, *(self._prefix + topic for topic in topics)])
            self._has_commands.set()

    def _unsubscribe(self, topics: list[str]) -> None:
        for topic in topics:
            self._ready.pop(topic, None)
        self._send("UNSUBSCRIBE", topics)

    async def _live(self) -> None:
        loop = asyncio.get_running_loop()
        self._heard_at = loop.time()
        helpers = [loop.create_task(self._write_commands()), loop.create_task(self._keep_alive())]
        try:
            await self._read()
        except Exception as error:  # the connection failed, or what came was not ours
            self.lose(str(error) or type(error).__name__)
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._connection.disconnect(nowait=True)

    async def _keep_alive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(PING_EVERY)
            if loop.time() - self._heard_at > SILENCE_LIMIT:
                self.lose(f"no answer from Redis for {SILENCE_LIMIT:g} s")
                return
            if not self.lost:
                self._commands.append(["PING"])
                self._has_commands.set()

    async def _write_commands(self) -> None:
        try:
            while True:
                await self._has_commands.wait()
                self._has_commands.clear()
                commands = list(self._commands)
                self._commands.clear()
                if not self._connection.is_connected:  # or redis-py would reconnect it quietly
                    raise ConnectionError("the connection was closed")
                await self._connection.send_packed_command(
                    self._connection.pack_commands(commands), check_health=False)
        except Exception as error:
            self.lose(f"sending to Redis failed: {error}")

    async def _read(self) -> None:
        while True:
            # a message is a push in RESP3 (redis-py's default from 8.0), a reply in RESP2
            reply: list[Any] = await self._connection.read_response(push_request=True)
            self._heard_at = asyncio.get_running_loop().time()  # a PONG too
            kind = reply[0]
            if kind == b"message":
                self._heard(reply[1], reply[2])
            elif kind == b"subscribe":
                waiting = self._confirming.get(reply[1])
                if waiting:
                    confirmed = waiting.popleft()
                    if not waiting:
                        del self._confirming[reply[1]]
                    if not confirmed.done():
                        confirmed.set_result(None)

    def _heard(self, channel: bytes, payload: bytes) -> None:
        wire = orjson.loads(payload)
        topic = channel[len(self._prefix_bytes):].decode()
        self.topics.deliver(topic, Event(wire["frame"], wire["id"]))
