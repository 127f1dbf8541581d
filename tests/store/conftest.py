"""The one backend fixture of the Store behaviour suite: every test that takes `store` runs
once per backend in BACKENDS (the next backend is one more entry, nothing else). Each entry
gives a test a database of its own, as a URL, and removes it afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from chatserver.store import Store, open_store
from tests.backends import drop_schema, postgres_url


@asynccontextmanager
async def sqlite_file(folder: Path) -> AsyncIterator[str]:
    yield f"sqlite:///{folder / 'chat.db'}"


@asynccontextmanager
async def postgres_schema(folder: Path) -> AsyncIterator[str]:
    """A schema of its own in the test database (the store makes it), dropped afterwards."""
    url = postgres_url()
    try:
        yield url
    finally:
        await drop_schema(url)


BACKENDS: dict[str, Callable[[Path], AbstractAsyncContextManager[str]]] = {
    "sqlite": sqlite_file,
    "postgres": postgres_schema,
}


@pytest.fixture(params=list(BACKENDS))
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with BACKENDS[request.param](tmp_path) as url:
        yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    store = await open_store(store_url)
    yield store
    await store.close()
