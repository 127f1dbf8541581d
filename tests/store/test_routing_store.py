"""Routing across processes, as the Store keeps it (both backends): the registry of server
processes and their agents' connections, and the routing transaction, whose lock lets two
processes (two Store objects on one database) racing for one conversation make one winner
and never route an agent past their capacity."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from chatserver.domain.models import Author
from chatserver.store import Store, open_store
from chatserver.store.base import Routing


@pytest.fixture
async def other(store: Store, store_url: str) -> AsyncIterator[Store]:
    """A second process's store on the same database."""
    opened = await open_store(store_url)
    yield opened
    await opened.close()


async def agent_id(store: Store, name: str, capacity: int = 3) -> int:
    agent = await store.add_agent(f"{name.lower()}@example.com", name, "agent", capacity, None)
    await store.set_presence(agent.id, "available")
    return agent.id


async def queued_chat(store: Store, name: str, rank: float) -> int:
    visitor, _token = await store.create_visitor({"name": name})
    posted = await store.post_visitor_message(Author("visitor", name, visitor.id), "first",
                                              "hello", rank)
    return posted.message.conversation_id


async def connections(store: Store) -> dict[int, int]:
    return (await store.routing_picture()).connections


async def test_connections_through_several_processes_count_until_the_last_one_goes(
        store: Store) -> None:
    ann = await agent_id(store, "Ann")
    first, second = await store.register_process("a:1"), await store.register_process("b:1")
    async with store.routing() as tx:
        await tx.connect(first, ann)
        await tx.connect(first, ann)
        await tx.connect(second, ann)
    assert await connections(store) == {ann: 3}

    async with store.routing() as tx:
        assert await tx.disconnect(first, ann) is False
        assert await tx.end_process(first) == []  # still connected through the second
    picture = await store.routing_picture()
    assert picture.connections == {ann: 1} and ann not in picture.disconnected_at

    async with store.routing() as tx:
        assert await tx.disconnect(second, ann) is True  # the last: grace starts now
        gone_at = tx.now
    picture = await store.routing_picture()
    assert picture.connections == {} and picture.disconnected_at == {ann: gone_at}
    assert await store.live_processes(10) == [second]

    async with store.routing() as tx:
        await tx.connect(second, ann)  # back: no grace runs
    assert (await store.routing_picture()).disconnected_at == {}


async def test_a_silent_process_is_reaped_with_its_connections_and_a_live_one_kept(
        store: Store) -> None:
    ann, bob = await agent_id(store, "Ann"), await agent_id(store, "Bob")
    silent = await store.register_process("a:1")
    async with store.routing() as tx:
        await tx.connect(silent, ann)
        await tx.connect(silent, bob)
    await asyncio.sleep(0.6)  # the silent process ages; the live one beats just before the sweep
    live = await store.register_process("b:1")
    async with store.routing() as tx:
        await tx.connect(live, bob)
        assert await tx.reap(silent_for=0.4) == [ann]  # Bob is still connected elsewhere
        reaped_at = tx.now

    picture = await store.routing_picture()
    assert picture.connections == {bob: 1} and picture.disconnected_at == {ann: reaped_at}
    assert await store.live_processes(10) == [live]
    assert await store.heartbeat(live) is True
    assert await store.heartbeat(silent) is False  # it was taken for dead: registered again
    assert await store.live_processes(10) == [silent, live]
    assert (await store.routing_picture()).connections == {bob: 1}


async def test_a_restarted_process_ends_its_earlier_selfs_connections_and_no_others(
        store: Store) -> None:
    ann, bob = await agent_id(store, "Ann"), await agent_id(store, "Bob")
    earlier, other = await store.register_process("a:1"), await store.register_process("b:1")
    async with store.routing() as tx:
        await tx.connect(earlier, ann)
        await tx.connect(other, bob)
    restarted = await store.register_process("a:1")  # before the earlier one fell silent
    async with store.routing() as tx:
        assert await tx.replace_process(restarted) == [ann]
    assert await connections(store) == {bob: 1}
    assert await store.live_processes(10) == [other, restarted]


async def test_each_routing_change_raises_the_version_and_a_failed_one_writes_nothing(
        store: Store) -> None:
    ann = await agent_id(store, "Ann")
    process = await store.register_process("a:1")
    before = (await store.routing_picture()).version
    async with store.routing() as tx:
        await tx.connect(process, ann)
        assert tx.version == before + 1
    with pytest.raises(RuntimeError):
        async with store.routing() as tx:
            await tx.set_presence(ann, "away")
            raise RuntimeError("a decision failed half way")
    picture = await store.routing_picture()
    assert picture.version == before + 1
    assert [a.status for a in picture.agents] == ["available"]


async def test_the_picture_holds_the_queue_in_rank_order_and_who_has_what(
        store: Store) -> None:
    ann = await agent_id(store, "Ann")
    late, early = await queued_chat(store, "Vera", 2.0), await queued_chat(store, "Walt", 1.0)
    async with store.routing() as tx:
        await tx.assign(late, ann, "Ann joined the chat.")
    picture = await store.routing_picture()
    ranks = {c.id: (c.status, c.agent_id, rank) for c, rank in picture.open}
    assert ranks == {late: ("active", ann, None), early: ("queued", None, 1.0)}
    assert picture.last_assigned[ann] == pytest.approx(picture.now, abs=5)


async def claim_if_waiting(store: Store, conversation_id: int, agent: int) -> bool:
    """A process's claim: decided on the picture read under the routing lock."""
    async with store.routing() as tx:
        waiting = {c.id for c, _rank in (await tx.picture()).open if c.status == "queued"}
        if conversation_id not in waiting:
            return False
        await tx.assign(conversation_id, agent, "Claimed.")
        return True


async def test_two_processes_racing_to_claim_one_conversation_make_one_winner(
        store: Store, other: Store) -> None:
    ann, bob = await agent_id(store, "Ann"), await agent_id(store, "Bob")
    chats = [await queued_chat(store, f"V{n}", float(n)) for n in range(5)]
    for chat in chats:
        won = await asyncio.gather(claim_if_waiting(store, chat, ann),
                                   claim_if_waiting(other, chat, bob))
        assert sorted(won) == [False, True]
        assert [m.text for m in await store.messages(chat)
                if m.author.role == "system"] == ["Claimed."]


async def route_next(store: Store, agent: int) -> bool:
    """A process's routing: the oldest queued conversation to the agent, while under
    capacity (a decision on the picture, as the Desk's Router makes it)."""
    async with store.routing() as tx:
        picture = await tx.picture()
        [capacity] = [a.capacity for a in picture.agents if a.id == agent]
        load = sum(1 for c, _rank in picture.open if c.agent_id == agent)
        queued = sorted((rank or 0.0, c.id) for c, rank in picture.open if c.status == "queued")
        if load >= capacity or not queued:
            return False
        await tx.assign(queued[0][1], agent, "Routed.")
        return True


async def test_processes_routing_at_once_never_exceed_an_agents_capacity_and_keep_fifo(
        store: Store, other: Store) -> None:
    ann = await agent_id(store, "Ann", capacity=2)
    chats = [await queued_chat(store, f"V{n}", float(n)) for n in range(6)]
    routed = await asyncio.gather(*(route_next(s, ann) for s in [store, other] * 4))
    assert sum(routed) == 2
    picture = await store.routing_picture()
    assert sorted(c.id for c, _rank in picture.open if c.agent_id == ann) == chats[:2]


async def test_a_routing_change_announces_its_writes_once_committed(store: Store) -> None:
    ann = await agent_id(store, "Ann")
    chat = await queued_chat(store, "Vera", 1.0)
    told: list[str] = []

    async def assign(tx: Routing) -> None:
        await tx.assign(chat, ann, "Ann joined the chat.",
                        on_commit=lambda changed: told.append(changed.message.text))
        assert told == []  # not yet: nothing is committed
    async with store.routing() as tx:
        await assign(tx)
    assert told == ["Ann joined the chat."]
