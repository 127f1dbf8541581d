"""The Redis the tests use (CI runs one at this address), under a prefix per test."""

from __future__ import annotations

import secrets

REDIS = "redis://127.0.0.1:6379/0"


def redis_url(base: str = REDIS) -> str:
    """`base` with a prefix of its own, so tests (and test runs) do not hear each other."""
    return f"{base}?prefix=test-{secrets.token_hex(6)}:"
