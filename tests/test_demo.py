"""`chatserver demo`'s data: made once, whatever the number of runs on one database."""

from __future__ import annotations

from chatserver.demo import CANNED, seed
from chatserver.store import open_store


async def test_seeding_the_demo_again_keeps_one_of_each_canned_response(db_url: str) -> None:
    store = await open_store(db_url)
    try:
        await seed(store)
        await seed(store)
        canned = [(c["shortcut"], c["text"]) for c in await store.canned()]
        assert canned == sorted(CANNED.items())
    finally:
        await store.close()
