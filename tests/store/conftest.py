"""The one backend fixture of the Store behaviour suite: every test that takes `store` runs
once per backend in BACKENDS (the next backend is one more entry, nothing else)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from chatserver.store import Store, open_store

BACKENDS: dict[str, Callable[[Path], str]] = {
    "sqlite": lambda folder: f"sqlite:///{folder / 'chat.db'}",
}


@pytest.fixture(params=list(BACKENDS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(BACKENDS[request.param](tmp_path))
    yield store
    await store.close()
