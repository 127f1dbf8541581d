"""The Desk over a store that another server writes to as well: when the store refuses a
routing change planned on an old picture, the desk takes the store's word, plans again, and
tells nobody of a change that did not happen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from chatserver.bus.memory import MemoryBus
from chatserver.config import Settings
from chatserver.domain.models import Agent, Author, Conversation
from chatserver.domain.routing import RoutingError
from chatserver.service.announcer import Announcer
from chatserver.service.desk import Desk
from chatserver.store import Store, open_store


class RecordingAnnouncer(Announcer):
    def __init__(self) -> None:
        super().__init__(MemoryBus())
        self.to_agents_sent: list[tuple[int, dict[str, Any]]] = []

    def to_agent(self, agent_id: int, frame: dict[str, Any]) -> None:
        self.to_agents_sent.append((agent_id, frame))
        super().to_agent(agent_id, frame)

    def frames(self, agent_id: int, kind: str) -> list[dict[str, Any]]:
        return [f for a, f in self.to_agents_sent if a == agent_id and f["type"] == kind]


@dataclass
class Setup:
    store: Store
    desk: Desk
    told: RecordingAnnouncer


@pytest.fixture
async def setup(settings: Settings) -> AsyncIterator[Setup]:
    store = await open_store(settings.database_url)
    told = RecordingAnnouncer()
    desk = Desk(settings, store, told)
    yield Setup(store, desk, told)
    await desk.stop()
    await store.close()


async def queued_chat(store: Store, name: str, rank: float) -> int:
    visitor, _token = await store.create_visitor({"name": name})
    posted = await store.post_visitor_message(Author("visitor", name, visitor.id), "first",
                                              "hello", rank)
    return posted.message.conversation_id


async def available(store: Store, name: str, capacity: int = 3) -> Agent:
    agent = await store.add_agent(f"{name.lower()}@example.com", name, "agent", capacity, None)
    await store.set_presence(agent.id, "available")
    return replace(agent, status="available")


async def stored(store: Store, conversation_id: int) -> Conversation:
    found = await store.conversation(conversation_id)
    assert found is not None
    return found


async def system_messages(store: Store, conversation_id: int) -> list[str]:
    return [m.text for m in await store.messages(conversation_id)
            if m.author.role == "system"]


async def test_a_chat_another_server_assigned_meanwhile_is_skipped_and_the_next_one_given(
        setup: Setup) -> None:
    store, desk = setup.store, setup.desk
    first, second = await queued_chat(store, "Vera", 1.0), await queued_chat(store, "Walt", 2.0)
    ann, bob = await available(store, "Ann", capacity=1), await available(store, "Bob")
    await desk.start()
    await store.assign(first, bob.id, "Bob joined the chat.")  # another server's decision

    await desk.agent_connected(ann)  # the desk plans `first` for Ann: refused, plans again

    assert desk.owner(first) == bob.id and desk.owner(second) == ann.id
    assert await system_messages(store, first) == ["Bob joined the chat."]
    assert await system_messages(store, second) == ["Ann joined the chat."]
    assert [f["conversation"]["id"] for f in setup.told.frames(ann.id, "assigned")] == [second]
    assert desk.queue_position(first) is None and desk.queue_position(second) is None


async def test_a_transfer_of_a_chat_another_server_moved_is_refused_and_changes_nothing(
        setup: Setup) -> None:
    store, desk = setup.store, setup.desk
    chat = await queued_chat(store, "Vera", 1.0)
    ann, bob, sue = (await available(store, "Ann"), await available(store, "Bob"),
                     await available(store, "Sue"))
    await desk.start()
    await desk.agent_connected(ann)
    assert desk.owner(chat) == ann.id
    await desk.agent_connected(sue)
    await store.assign(chat, bob.id, "Bob took over the chat.", from_agent=ann.id)  # elsewhere

    with pytest.raises(RoutingError) as refused:
        await desk.transfer(chat, ann, sue.id)

    assert refused.value.code == "conflict"
    assert desk.owner(chat) == bob.id
    assert (await stored(store, chat)).agent_id == bob.id
    assert await system_messages(store, chat) == ["Ann joined the chat.",
                                                  "Bob took over the chat."]
    assert setup.told.frames(sue.id, "assigned") == []
    assert setup.told.frames(ann.id, "unassigned") == []


async def test_closing_a_chat_twice_is_refused_the_second_time_and_adds_nothing(
        setup: Setup) -> None:
    store, desk = setup.store, setup.desk
    chat = await queued_chat(store, "Vera", 1.0)
    await desk.start()
    vera = Author("visitor", "Vera", (await stored(store, chat)).visitor_id)
    await desk.close(chat, vera)
    with pytest.raises(RoutingError, match="already closed"):
        await desk.close(chat, vera)
    assert await system_messages(store, chat) == ["The visitor ended the chat."]
