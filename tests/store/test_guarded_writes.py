"""Guarded routing writes: the store itself refuses a change planned on an old picture, so a
conversation never has two agents, and a second close adds nothing. Only Store methods are
used: the same contract holds for any backend."""

from __future__ import annotations

import asyncio

import pytest

from chatserver.domain.models import Agent, Author, Conversation
from chatserver.store import Store
from chatserver.store.types import Changed, Stale


async def agent(store: Store, name: str) -> Agent:
    return await store.add_agent(f"{name.lower()}@example.com", name, "agent", 3, None)


async def queued_chat(store: Store) -> int:
    visitor, _token = await store.create_visitor({"name": "Vera"})
    posted = await store.post_visitor_message(Author("visitor", "Vera", visitor.id), "first",
                                              "hello", 1.0)
    return posted.message.conversation_id


async def stored(store: Store, conversation_id: int) -> Conversation:
    found = await store.conversation(conversation_id)
    assert found is not None
    return found


async def system_messages(store: Store, conversation_id: int) -> list[str]:
    return [m.text for m in await store.messages(conversation_id, notes=True)
            if m.author.role == "system"]


async def test_two_assigns_of_one_queued_conversation_at_once_give_it_to_one_agent(
        store: Store) -> None:
    conversation_id = await queued_chat(store)
    ann, bob = await agent(store, "Ann"), await agent(store, "Bob")
    results = await asyncio.gather(
        store.assign(conversation_id, ann.id, "Ann joined the chat."),
        store.assign(conversation_id, bob.id, "Bob joined the chat."),
        return_exceptions=True)
    [won] = [r for r in results if isinstance(r, Changed)]
    [lost] = [r for r in results if isinstance(r, Stale)]
    conversation = await stored(store, conversation_id)
    assert conversation.status == "active" and conversation.agent_id == won.conversation.agent_id
    assert lost.current is not None and lost.current.agent_id == conversation.agent_id
    assert await system_messages(store, conversation_id) == [won.message.text]
    assert conversation.last_seq == 2


async def test_an_assign_without_the_current_agent_never_replaces_them(store: Store) -> None:
    conversation_id = await queued_chat(store)
    ann, bob = await agent(store, "Ann"), await agent(store, "Bob")
    await store.assign(conversation_id, ann.id, "Ann joined the chat.")
    with pytest.raises(Stale, match="no longer waiting in the queue"):
        await store.assign(conversation_id, bob.id, "Bob joined the chat.")
    conversation = await stored(store, conversation_id)
    assert conversation.agent_id == ann.id and conversation.last_seq == 2
    assert await system_messages(store, conversation_id) == ["Ann joined the chat."]


async def test_a_transfer_naming_the_wrong_current_agent_changes_nothing(store: Store) -> None:
    conversation_id = await queued_chat(store)
    ann, bob, sue = (await agent(store, "Ann"), await agent(store, "Bob"),
                     await agent(store, "Sue"))
    await store.assign(conversation_id, ann.id, "Ann joined the chat.")
    with pytest.raises(Stale) as refused:
        await store.assign(conversation_id, sue.id, "Sue took over the chat.", from_agent=bob.id)
    assert refused.value.current is not None and refused.value.current.agent_id == ann.id
    assert (await stored(store, conversation_id)).agent_id == ann.id

    moved = await store.assign(conversation_id, sue.id, "Sue took over the chat.",
                               from_agent=ann.id)
    assert moved.conversation.agent_id == sue.id and moved.waited is None
    assert await system_messages(store, conversation_id) == [
        "Ann joined the chat.", "Sue took over the chat."]


async def test_a_transfer_of_a_conversation_still_queued_changes_nothing(store: Store) -> None:
    conversation_id = await queued_chat(store)
    ann, bob = await agent(store, "Ann"), await agent(store, "Bob")
    with pytest.raises(Stale):
        await store.assign(conversation_id, bob.id, "Bob took over the chat.", from_agent=ann.id)
    conversation = await stored(store, conversation_id)
    assert conversation.status == "queued" and conversation.agent_id is None
    assert await system_messages(store, conversation_id) == []


async def test_an_assign_after_the_close_changes_nothing(store: Store) -> None:
    conversation_id = await queued_chat(store)
    ann = await agent(store, "Ann")
    await store.close_conversation(conversation_id, "visitor", "The visitor ended the chat.")
    announced: list[Changed] = []
    with pytest.raises(Stale) as refused:
        await store.assign(conversation_id, ann.id, "Ann joined the chat.",
                           on_commit=announced.append)
    assert refused.value.current is not None and refused.value.current.status == "closed"
    assert announced == []
    conversation = await stored(store, conversation_id)
    assert conversation.status == "closed" and conversation.agent_id is None
    assert conversation.last_seq == 2
    assert await store.recent_waits(10) == []  # no first assignment was recorded


async def test_an_assign_of_no_such_conversation_is_refused(store: Store) -> None:
    ann = await agent(store, "Ann")
    with pytest.raises(Stale) as refused:
        await store.assign(404, ann.id, "Ann joined the chat.")
    assert refused.value.current is None


async def test_a_requeue_happens_only_from_the_agent_who_has_the_conversation(
        store: Store) -> None:
    conversation_id = await queued_chat(store)
    ann, bob = await agent(store, "Ann"), await agent(store, "Bob")
    await store.assign(conversation_id, ann.id, "Ann joined the chat.")
    with pytest.raises(Stale, match="no longer with that agent"):
        await store.requeue(conversation_id, bob.id, 0.5, "Bob passed the chat on.")
    assert (await stored(store, conversation_id)).agent_id == ann.id

    requeued = await store.requeue(conversation_id, ann.id, 0.5, "Ann passed the chat on.")
    assert requeued.conversation.status == "queued" and requeued.conversation.agent_id is None
    with pytest.raises(Stale):  # a second requeue, planned before the first one committed
        await store.requeue(conversation_id, ann.id, 0.5, "Ann passed the chat on.")
    assert await system_messages(store, conversation_id) == [
        "Ann joined the chat.", "Ann passed the chat on."]


async def test_closing_twice_at_once_adds_one_system_message(store: Store) -> None:
    conversation_id = await queued_chat(store)
    results = await asyncio.gather(
        store.close_conversation(conversation_id, "visitor", "The visitor ended the chat."),
        store.close_conversation(conversation_id, "agent", "Ann closed the chat."),
        return_exceptions=True)
    [closed] = [r for r in results if isinstance(r, Changed)]
    [again] = [r for r in results if isinstance(r, Stale)]
    assert str(again) == "that conversation is already closed"
    assert again.current is not None and again.current.closed_at == closed.conversation.closed_at
    assert await system_messages(store, conversation_id) == [closed.message.text]
    assert (await stored(store, conversation_id)).last_seq == 2
