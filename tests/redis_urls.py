"""The Redis the tests use (CI runs one at this address), under a prefix per test."""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

REDIS = "redis://127.0.0.1:6379/0"


def redis_url(base: str = REDIS) -> str:
    """`base` with a prefix of its own, so tests (and test runs) do not hear each other."""
    return f"{base}?prefix=test-{secrets.token_hex(6)}:"


async def forget(url: str) -> None:
    """Delete what a test left under its prefix in Redis (the keys would expire anyway)."""
    prefix = url.partition("?prefix=")[2]
    client = Redis.from_url(REDIS)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
