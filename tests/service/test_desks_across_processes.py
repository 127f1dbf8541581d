"""Two server processes' desks (each its own Store and bus connection) on one PostgreSQL
schema and one Redis prefix: routing decided under one lock in the database, presence
through the process registry, caches kept by routing news."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from chatserver.bus import Bus, Subscription, open_bus
from chatserver.config import Settings
from chatserver.domain.models import Agent, Author, Visitor
from chatserver.domain.routing import RoutingError
from chatserver.service.announcer import Announcer, agent_topic
from chatserver.service.desk import Desk
from chatserver.store import Store, open_store
from tests.redis_urls import redis_url
from tests.store.conftest import postgres_schema

WAIT = 5.0  # seconds a test waits for what it expects, at most


@dataclass
class Process:
    store: Store
    bus: Bus
    desk: Desk


class Cluster:
    def __init__(self, database_url: str, bus_url: str) -> None:
        self.database_url, self.bus_url = database_url, bus_url
        self.processes: list[Process] = []

    async def start(self, grace_seconds: float = 60.0, heartbeat_seconds: float = 2.0,
                    dead_after: float = 10.0) -> Desk:
        settings = Settings(database_url=self.database_url, bus_url=self.bus_url,
                            grace_seconds=grace_seconds, port=8000 + len(self.processes))
        store, bus = await open_store(self.database_url), open_bus(self.bus_url)
        desk = Desk(settings, store, Announcer(bus), heartbeat_seconds, dead_after)
        self.processes.append(Process(store, bus, desk))
        await desk.start()
        return desk

    async def stop(self) -> None:
        for process in reversed(self.processes):
            await process.desk.stop()
            await process.bus.close()
            await process.store.close()

    @property
    def store(self) -> Store:
        return self.processes[0].store


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with postgres_schema(tmp_path) as url:
        started = Cluster(url, redis_url())
        yield started
        await started.stop()


async def available(store: Store, name: str, capacity: int = 3) -> Agent:
    agent = await store.add_agent(f"{name.lower()}@example.com", name, "agent", capacity, None)
    await store.set_presence(agent.id, "available")
    return replace(agent, status="available")


async def visitor_says(store: Store, name: str) -> tuple[int, Visitor]:
    visitor, _token = await store.create_visitor({"name": name})
    posted = await store.post_visitor_message(Author("visitor", name, visitor.id), "first",
                                              "hello", 1.0)
    assert posted.opened is not None and posted.visitor is not None
    return posted.opened.id, posted.visitor


async def expect(subscription: Subscription, kind: str) -> dict[str, Any]:
    while True:
        event = await asyncio.wait_for(subscription.get(), WAIT)
        if event.type == kind:
            return event.frame


async def until(holds: Callable[[], bool]) -> None:
    """Wait for what another process's news brings (checked every 10 ms, at most WAIT)."""
    async with asyncio.timeout(WAIT):
        while not holds():
            await asyncio.sleep(0.01)


async def joined(store: Store, conversation_id: int) -> list[str]:
    return [m.text for m in await store.messages(conversation_id) if m.author.role == "system"]


async def test_a_chat_opened_through_one_process_goes_once_to_an_agent_of_the_other(
        cluster: Cluster) -> None:
    one, two = await cluster.start(), await cluster.start()
    ann = await available(cluster.store, "Ann")
    told = await cluster.processes[1].bus.subscribe([agent_topic(ann.id)])
    await two.agent_connected(ann)
    await until(lambda: one.router.agents_online() == 1)  # the news reached the other desk

    chat, visitor = await visitor_says(cluster.store, "Vera")
    one.opened((await cluster.store.conversation(chat)) or pytest.fail(), visitor)

    assert (await expect(told, "assigned"))["conversation"]["id"] == chat
    await until(lambda: two.owner(chat) == ann.id)
    assert one.owner(chat) == ann.id and two.visitor_of[chat].id == visitor.id
    assert await joined(cluster.store, chat) == ["Ann joined the chat."]


async def test_a_process_starting_disturbs_no_agent_connected_through_another(
        cluster: Cluster) -> None:
    one = await cluster.start()
    ann = await available(cluster.store, "Ann")
    await one.agent_connected(ann)
    chat, visitor = await visitor_says(cluster.store, "Vera")
    one.opened((await cluster.store.conversation(chat)) or pytest.fail(), visitor)
    await until(lambda: one.owner(chat) == ann.id)

    two = await cluster.start()

    assert two.owner(chat) == ann.id and two.router.agents[ann.id].online
    picture = await cluster.store.routing_picture()
    assert picture.connections == {ann.id: 1} and picture.disconnected_at == {}


async def test_chats_opened_through_two_processes_at_once_never_exceed_capacity_in_order(
        cluster: Cluster) -> None:
    one, two = await cluster.start(), await cluster.start()
    ann = await available(cluster.store, "Ann", capacity=2)
    await one.agent_connected(ann)
    await two.agent_connected(ann)  # a second tab, through the other process
    opened = [await visitor_says(cluster.store, f"V{n}") for n in range(6)]
    for n, (chat, visitor) in enumerate(opened):  # each routed at once, by either process
        (one, two)[n % 2].opened((await cluster.store.conversation(chat)) or pytest.fail(),
                                 visitor)
    await until(lambda: not one._tasks and not two._tasks)  # every routing task done

    assignments = await cluster.store.agent_conversations(ann.id)
    assert [c.id for c in assignments] == [chat for chat, _visitor in opened[:2]]


async def test_agents_of_two_processes_racing_to_claim_one_chat_make_one_winner(
        cluster: Cluster) -> None:
    one, two = await cluster.start(), await cluster.start()
    ann, bob = await available(cluster.store, "Ann"), await available(cluster.store, "Bob")
    for agent in (ann, bob):  # away, so nothing is routed to them: they claim
        await cluster.store.set_presence(agent.id, "away")
    chats = [(await visitor_says(cluster.store, f"V{n}"))[0] for n in range(3)]
    await one.agent_connected(ann)
    await two.agent_connected(bob)
    for chat in chats:
        results = await asyncio.gather(one.claim(chat, ann), two.claim(chat, bob),
                                       return_exceptions=True)
        refused = [r for r in results if isinstance(r, RoutingError)]
        assert len(refused) == 1 and refused[0].code == "conflict"
        winner = ann.id if results[0] is None else bob.id
        assert (await cluster.store.conversation(chat) or pytest.fail()).agent_id == winner
        assert await joined(cluster.store, chat) == [
            f"{'Ann' if winner == ann.id else 'Bob'} joined the chat."]


async def test_a_dead_processs_agents_are_reaped_and_their_chats_requeued_after_grace(
        cluster: Cluster) -> None:
    one = await cluster.start(grace_seconds=0.3, heartbeat_seconds=0.05)
    two = await cluster.start(heartbeat_seconds=3600)  # beats once, at its start
    ann, bob = await available(cluster.store, "Ann"), await available(cluster.store, "Bob")
    await cluster.store.set_presence(bob.id, "away")
    await two.agent_connected(ann)
    chat, _visitor = await visitor_says(cluster.store, "Vera")
    two.opened((await cluster.store.conversation(chat)) or pytest.fail(), _visitor)
    await until(lambda: one.owner(chat) == ann.id)
    await one.agent_connected(bob)
    await one.set_presence(bob, "available")  # Bob has room, but the chat stays Ann's
    told = await cluster.processes[0].bus.subscribe([agent_topic(bob.id)])
    assert one.owner(chat) == ann.id

    one.life.dead_after = 0.3  # from now on, `one` takes two's silence for its death
    assert (await expect(told, "assigned"))["conversation"]["id"] == chat  # two fell silent
    assert await joined(cluster.store, chat) == [
        "Ann joined the chat.",
        "Your agent was disconnected; you are back at the front of the queue.",
        "Bob joined the chat."]
    assert await cluster.store.live_processes(10) == [one.life.process_id]


async def test_an_agent_acting_before_the_news_arrives_is_taken_at_the_stores_word(
        cluster: Cluster) -> None:
    one = await cluster.start()
    ann = await available(cluster.store, "Ann")
    chat, _visitor = await visitor_says(cluster.store, "Vera")
    async with cluster.store.routing() as tx:  # another process's change, its news not out
        await tx.assign(chat, ann.id, "Ann joined the chat.")

    assert one.owner(chat) is None  # the cache, a moment behind
    assert await one.owns(chat, ann.id) is True
    assert await one.owns(chat, ann.id + 1) is False
