"""Order payloads shaped like Shopify's and WooCommerce's documented examples (trimmed to the
fields we read), and their signatures, for the domain and HTTP tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).parent


def load(file: str, /, **changes: Any) -> dict[str, Any]:
    """The payload `file`.json with top-level fields changed."""
    payload: dict[str, Any] = orjson.loads((HERE / f"{file}.json").read_bytes())
    return {**payload, **changes}


def signed(secret: str, payload: dict[str, Any]) -> tuple[bytes, str]:
    """The raw body and its signature as both platforms send it."""
    raw = orjson.dumps(payload)
    return raw, base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
