"""The service suite runs on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends import SERVER_BACKENDS, Backend


@pytest.fixture(params=list(SERVER_BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Every test here runs on each backend: SQLite with the in-process bus, PostgreSQL with
    Redis."""
    with SERVER_BACKENDS[request.param](tmp_path) as chosen:
        yield chosen
