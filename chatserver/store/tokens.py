"""Secrets handed out (API, visitor and session tokens) and how they are kept."""

from __future__ import annotations

import hashlib
import secrets


def token_hash(token: str) -> str:
    """Secrets are stored only as their SHA-256: a stolen database gives no working token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)  # 256 bits
