"""A message on PostgreSQL is one round trip: dedupe, numbering and insert in one call of a
server-side function, with no BEGIN or COMMIT of its own (SCALING.md: 0.4 ms against 0.8
for four round trips)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from chatserver.domain.models import Author
from chatserver.store import Store, open_store
from tests.store.conftest import postgres_schema

QUERY_METHODS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "prepare",
                 "copy_records_to_table")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with postgres_schema(tmp_path) as url:
        opened = await open_store(url)
        yield opened
        await opened.close()


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every query this process sends to PostgreSQL from now on."""
    sent: list[str] = []
    for name in QUERY_METHODS:
        original = getattr(asyncpg.connection.Connection, name)

        async def counting(self: Any, query: Any = "", *args: Any, _original: Any = original,
                           **kwargs: Any) -> Any:
            sent.append(str(query))
            return await _original(self, query, *args, **kwargs)
        monkeypatch.setattr(asyncpg.connection.Connection, name, counting)
    return sent


async def test_a_visitors_and_an_agents_message_are_one_round_trip_each(
        store: Store, round_trips: list[str]) -> None:
    visitor, _ = await store.create_visitor({"name": "Vera"})
    vera = Author("visitor", "Vera", visitor.id)
    first = await store.post_visitor_message(vera, "c1", "hello", 1.0)  # opens the chat
    agent = await store.add_agent("ann@example.com", "Ann", "agent", 3, None)
    await store.assign(first.message.conversation_id, agent.id, "Ann joined")
    round_trips.clear()
    again = await store.post_visitor_message(vera, "c2", "anyone there?", 1.0)
    assert len(round_trips) == 1 and "post_visitor_message" in round_trips[0]
    round_trips.clear()
    answer = await store.post_agent_message(first.message.conversation_id,
                                            Author("agent", "Ann", str(agent.id)), "a1",
                                            "Hi Vera!", private=False)
    assert len(round_trips) == 1 and "post_agent_message" in round_trips[0]
    assert (again.message.seq, answer.message.seq) == (3, 4)  # 2: Ann joined
    round_trips.clear()
    resent = await store.post_visitor_message(vera, "c2", "anyone there?", 1.0)
    assert resent.duplicate and resent.message.seq == 3 and len(round_trips) == 1
