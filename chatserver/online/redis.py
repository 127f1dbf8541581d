"""Visitors online in Redis, seen by every process on one bus URL.

A sorted set per visitor (`P` + `online:<visitor id>`) holds the processes where they have a
socket open, each scored with the time its claim lapses. A process renews its claims while
the sockets stay open and withdraws one when the visitor's last socket there closes; the
claims of a process that died lapse within `LAPSE` seconds. While Redis cannot be reached,
this process's own sockets are all it knows of."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter

from redis.asyncio import Redis
from redis.exceptions import RedisError

from chatserver.redis_url import RedisUrl

log = logging.getLogger(__name__)

TIMEOUT = 2.0  # seconds to connect, or for an answer
RENEW_EVERY = 10.0  # seconds between two renewals of this process's claims
LAPSE = 30.0  # seconds a claim lasts unless renewed


def wall_clock() -> float:
    """Now, as the processes' machines agree on it (to well within `LAPSE`)."""
    return time.time()


class RedisVisitorsOnline:
    def __init__(self, url: RedisUrl) -> None:
        self._prefix = f"{url.prefix}online:"
        self._client = Redis.from_url(url.address, socket_connect_timeout=TIMEOUT,
                                      socket_timeout=TIMEOUT)
        self._process = secrets.token_hex(8)
        self._sockets: Counter[str] = Counter()  # visitor id -> open sockets here
        self._renewing: asyncio.Task[None] | None = None

    async def connected(self, visitor_id: str) -> None:
        self._sockets[visitor_id] += 1
        if self._renewing is None:
            self._renewing = asyncio.get_running_loop().create_task(self._renew())
        if self._sockets[visitor_id] == 1:
            await self._claim([visitor_id])

    async def disconnected(self, visitor_id: str) -> None:
        self._sockets[visitor_id] -= 1
        if self._sockets[visitor_id] > 0:
            return
        del self._sockets[visitor_id]
        try:
            await self._client.zrem(self._prefix + visitor_id, self._process)
        except RedisError as error:  # the claim lapses by itself
            log.warning("visitor %s not marked offline, Redis unavailable: %s", visitor_id,
                        error)

    async def online(self, visitor_id: str) -> bool:
        if self._sockets[visitor_id] > 0:
            return True
        try:
            return bool(await self._client.zcount(self._prefix + visitor_id, wall_clock(),
                                                  "+inf"))
        except RedisError as error:
            log.warning("visitor %s taken for offline, Redis unavailable: %s", visitor_id,
                        error)
            return False

    async def close(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        with contextlib.suppress(RedisError):
            async with self._client.pipeline(transaction=False) as pipe:
                for visitor_id in self._sockets:
                    pipe.zrem(self._prefix + visitor_id, self._process)
                await pipe.execute()
        self._sockets.clear()
        await self._client.aclose()

    async def _claim(self, visitor_ids: list[str]) -> None:
        now = wall_clock()
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for visitor_id in visitor_ids:
                    key = self._prefix + visitor_id
                    pipe.zadd(key, {self._process: now + LAPSE})
                    pipe.zremrangebyscore(key, "-inf", now)  # dead processes' claims
                    pipe.expire(key, int(LAPSE) + 1)
                await pipe.execute()
        except RedisError as error:
            log.warning("visitors not marked online, Redis unavailable: %s", error)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            if self._sockets:
                await self._claim(list(self._sockets))
