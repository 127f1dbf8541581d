"""Sign-in failures in Redis, shared by every process on one bus URL: a hash {count, last}
per account and per address, and a key per (account, address) that signed in, under the
URL's prefix. A try reads and updates them in one optimistic transaction (WATCH, then
MULTI/EXEC, again if another process changed them meanwhile), deciding with the rules of
`chatserver/domain/throttle.py`, so guesses sent to several processes at once are each
counted before the next is let through.

While Redis cannot be reached, this process's own memory counts (and the failure is
logged): a guesser is still slowed down, and nobody is locked out because Redis is away."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError, WatchError

from chatserver.domain.throttle import (
    ACCOUNT,
    ADDRESS,
    Failures,
    account_key,
    forgiven,
    wait_before_try,
)
from chatserver.redis_url import RedisUrl
from chatserver.signins.memory import MemorySignIns

log = logging.getLogger(__name__)

TIMEOUT = 2.0  # seconds to connect, or for an answer
# failures expire once forgotten (the rules check the time too: Redis's clock is not the
# app's); a trusted address is remembered this long after its last sign-in
FAILURES_TTL = math.ceil(max(ACCOUNT.forget_after, ADDRESS.forget_after) + 60)
TRUSTED_TTL = 180 * 24 * 3600


class RedisSignIns:
    def __init__(self, url: RedisUrl) -> None:
        self._prefix = f"{url.prefix}signin:"
        self._client = Redis.from_url(url.address, socket_connect_timeout=TIMEOUT,
                                      socket_timeout=TIMEOUT)
        self._fallback = MemorySignIns()

    async def attempt(self, email: str, address: str, now: float) -> float:
        account = account_key(email)
        keys = self._keys(account, address)

        async def run(pipe: Pipeline) -> float:
            found_account, found_address = await _read(pipe, keys[0]), await _read(pipe, keys[1])
            wait = wait_before_try(found_account, found_address, bool(await pipe.exists(keys[2])),
                                   now)
            if wait == 0:
                pipe.multi()
                _write(pipe, keys[0], ACCOUNT.failed(found_account, now))
                _write(pipe, keys[1], ADDRESS.failed(found_address, now))
            return wait

        try:
            return await self._transaction(keys[:2], run)
        except RedisError as error:
            log.warning("sign-in throttle counted in this process only, Redis unavailable: %s",
                        error)
            return await self._fallback.attempt(email, address, now)

    async def succeeded(self, email: str, address: str, now: float) -> None:
        account = account_key(email)
        keys = self._keys(account, address)

        async def run(pipe: Pipeline) -> float:
            found_address = await _read(pipe, keys[1])
            pipe.multi()
            pipe.delete(keys[0])
            _write(pipe, keys[1], forgiven(found_address))
            pipe.set(keys[2], 1, ex=TRUSTED_TTL)
            return 0.0

        try:
            await self._transaction(keys[1:2], run)
        except RedisError as error:
            log.warning("a sign-in not recorded in Redis: %s", error)
        await self._fallback.succeeded(email, address, now)

    async def close(self) -> None:
        await self._client.aclose()

    def _keys(self, account: str, address: str) -> tuple[str, str, str]:
        return (f"{self._prefix}account:{account}", f"{self._prefix}address:{address}",
                f"{self._prefix}trusted:{address} {account}")

    async def _transaction(self, watched: Sequence[str],
                           run: Callable[[Pipeline], Awaitable[float]]) -> float:
        """`run` reads with `watched` watched, then queues its writes after `multi()`; run
        again whenever another process changed a watched key before the writes."""
        async with self._client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(*watched)
                    answer = await run(pipe)
                    if pipe.explicit_transaction:
                        await pipe.execute()
                    else:
                        await pipe.unwatch()
                    return answer
                except WatchError:
                    continue


async def _read(pipe: Pipeline, key: str) -> Failures | None:
    found = await pipe.hgetall(key)
    if not found:
        return None
    return Failures(int(found[b"count"]), float(found[b"last"]))


def _write(pipe: Pipeline, key: str, failures: Failures | None) -> None:
    if failures is None:
        pipe.delete(key)
    else:
        pipe.hset(key, mapping={"count": failures.count, "last": repr(failures.last)})
        pipe.expire(key, FAILURES_TTL)
