"""Windows in Redis, shared by every process on one bus URL: a sorted set of hits per key,
scored by time, checked and added to in one Lua script, under the URL's prefix, expiring
once its newest hit has left the window.

When Redis cannot be reached a hit is allowed (and logged): the limits are a guard against
floods, and refusing every visitor while Redis is away would be the bigger harm."""

from __future__ import annotations

import logging
import math
import secrets
from functools import partial

from redis.asyncio import Redis
from redis.exceptions import RedisError

from chatserver.config import Limit
from chatserver.ratelimit.base import Hit
from chatserver.redis_url import RedisUrl

log = logging.getLogger(__name__)

TIMEOUT = 2.0  # seconds to connect, or for an answer
# a key outlives its newest hit by this much more than the window: the clocks of the
# processes' machines differ a little, and none of them is Redis's
TTL_MARGIN = 60.0

# KEYS[1]: one key's hits. ARGV: now, the cutoff (a hit at or before it has left the window),
# the count allowed, this hit's member, the key's time to live in ms.
# Returns {1} when the hit is counted, else {0, the score of the hit that must leave first}.
HIT_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local count = tonumber(ARGV[3])
local held = redis.call('ZCARD', KEYS[1])
if held >= count then
  return {0, redis.call('ZRANGE', KEYS[1], held - count, held - count, 'WITHSCORES')[2]}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1}
"""


class RedisWindow:
    def __init__(self, client: Redis, key_prefix: str, limit: Limit) -> None:
        self._client = client
        self._script = client.register_script(HIT_SCRIPT)
        self._key_prefix = key_prefix
        self.limit = limit
        self._ttl_ms = math.ceil((limit.seconds + TTL_MARGIN) * 1000)

    async def hit(self, key: str, now: float) -> Hit:
        if self.limit.off:
            return Hit(True)
        redis_key = self._key_prefix + key
        member = f"{now!r}:{secrets.token_hex(6)}"  # unique: two hits at one instant are two
        try:
            answer = await self._script(keys=[redis_key], args=[
                repr(now), repr(now - self.limit.seconds), self.limit.count, member,
                self._ttl_ms])
        except RedisError as error:
            log.warning("rate limit %s not checked, Redis unavailable: %s", redis_key, error)
            return Hit(True)
        if answer[0]:
            return Hit(True, 0.0, partial(self._undo, redis_key, member))
        return Hit(False, max(0.0, float(answer[1]) + self.limit.seconds - now))

    async def _undo(self, redis_key: str, member: str) -> None:
        try:
            await self._client.zrem(redis_key, member)
        except RedisError as error:
            log.warning("rate limit %s: a hit not taken back: %s", redis_key, error)


class RedisRateLimits:
    def __init__(self, url: RedisUrl) -> None:
        self._prefix = url.prefix
        self._client = Redis.from_url(url.address, socket_connect_timeout=TIMEOUT,
                                      socket_timeout=TIMEOUT)

    def window(self, name: str, limit: Limit) -> RedisWindow:
        return RedisWindow(self._client, f"{self._prefix}rate:{name}:", limit)

    async def close(self) -> None:
        await self._client.aclose()
