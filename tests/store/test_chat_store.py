"""The Store's conversations and messages, through the interface alone (no SQL), so that the
contract holds for every backend: gapless seq, notes numbered apart, `client_id` dedupe per
sender, one open conversation per visitor, read marks, emailed marks and ratings."""

from __future__ import annotations

import asyncio

import pytest

from chatserver.domain.models import Agent, Author, Conversation
from chatserver.store import Store
from chatserver.store.types import NotAllowed
from tests.conftest import T0, Clock

DAY = 24 * 60 * 60


async def new_visitor(store: Store, name: str = "Vera") -> Author:
    visitor, _token = await store.create_visitor({"name": name})
    return Author("visitor", name, visitor.id)


async def new_agent(store: Store, name: str = "Ann") -> tuple[Agent, Author]:
    agent = await store.add_agent(f"{name.lower()}@example.com", name, "agent", 3, None)
    return agent, Author("agent", name, str(agent.id))


async def open_chat(store: Store, who: Author) -> int:
    posted = await store.post_visitor_message(who, "first", "hello", 1.0)
    assert posted.opened is not None and posted.message.seq == 1
    return posted.message.conversation_id


async def stored(store: Store, conversation_id: int) -> Conversation:
    found = await store.conversation(conversation_id)
    assert found is not None
    return found


async def assert_gapless(store: Store, conversation_id: int) -> list[int | None]:
    seqs = [m.seq for m in await store.messages(conversation_id)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert (await stored(store, conversation_id)).last_seq == len(seqs)
    return seqs


async def test_the_first_messages_of_one_visitor_sent_at_once_open_one_conversation(
        store: Store) -> None:
    visitor = await new_visitor(store)
    first, second = await asyncio.gather(
        store.post_visitor_message(visitor, "c1", "hello", 1.0),
        store.post_visitor_message(visitor, "c2", "anyone there?", 1.0))
    assert [first.opened is not None, second.opened is not None].count(True) == 1
    assert first.message.conversation_id == second.message.conversation_id
    assert {first.message.seq, second.message.seq} == {1, 2}
    texts = [m.text for m in await store.messages(first.message.conversation_id)]
    assert sorted(texts) == ["anyone there?", "hello"]


async def test_a_visitor_has_one_open_conversation_however_many_messages_open_it_at_once(
        store: Store) -> None:
    visitor = await new_visitor(store)
    results = await asyncio.gather(*(store.post_visitor_message(visitor, f"c{n}", "hi", 1.0)
                                     for n in range(20)))
    assert sum(r.opened is not None for r in results) == 1
    [conversation_id] = {r.message.conversation_id for r in results}
    assert [c.id for c, _rank in await store.open_conversations()] == [conversation_id]
    await assert_gapless(store, conversation_id)


async def test_seq_is_gapless_across_visitor_agent_and_system_messages_posted_at_once(
        store: Store) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    agent, staff = await new_agent(store)
    await store.assign(conversation_id, agent.id, "Ann joined")  # seq 2
    posts = []
    for n in range(100):
        if n % 10 == 9:
            posts.append(store.assign(conversation_id, agent.id, f"system {n}",  # re-assign
                                      from_agent=agent.id))
        elif n % 2:
            posts.append(store.post_agent_message(conversation_id, staff, f"a{n}", f"agent {n}",
                                                  private=False))
        else:
            posts.append(store.post_visitor_message(visitor, f"v{n}", f"visitor {n}", 1.0))
    results = await asyncio.gather(*posts)
    assert sorted(r.message.seq or 0 for r in results) == list(range(3, 103))
    assert len(await assert_gapless(store, conversation_id)) == 102
    authors = [m.author.role for m in await store.messages(conversation_id)]
    assert authors.count("system") == 11


async def test_seq_follows_commit_order(store: Store) -> None:
    """Messages are announced at commit in submit order, each with the next seq."""
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    announced: list[int | None] = []
    await asyncio.gather(*(
        store.post_visitor_message(visitor, f"o{n}", f"text {n}", 1.0,
                                   on_commit=lambda p: announced.append(p.message.seq))
        for n in range(50)))
    assert announced == list(range(2, 52))
    assert await assert_gapless(store, conversation_id) == list(range(1, 52))


async def test_private_notes_are_numbered_apart_and_never_take_a_seq(store: Store) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    agent, staff = await new_agent(store)
    await store.assign(conversation_id, agent.id, "Ann joined")
    posts = [store.post_agent_message(conversation_id, staff, f"n{n}", f"note {n}", private=True)
             if n % 3 == 0 else
             store.post_visitor_message(visitor, f"v{n}", f"visitor {n}", 1.0)
             for n in range(60)]
    notes = [r.message for r in await asyncio.gather(*posts) if r.message.private]
    assert sorted(m.note_seq or 0 for m in notes) == list(range(1, 21))
    assert all(m.seq is None for m in notes)
    assert len(await assert_gapless(store, conversation_id)) == 2 + 40
    assert (await stored(store, conversation_id)).last_note_seq == 20
    with_notes = await store.messages(conversation_id, notes=True)
    assert sum(m.private for m in with_notes) == 20 and len(with_notes) == 62


async def test_messages_after_a_seq_are_the_later_ones_and_the_notes_written_since(
        store: Store) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    agent, staff = await new_agent(store)
    await store.post_agent_message(conversation_id, staff, "n1", "early note", private=True)
    await store.assign(conversation_id, agent.id, "Ann joined")  # seq 2
    await store.post_agent_message(conversation_id, staff, "n2", "late note", private=True)
    await store.post_visitor_message(visitor, "v3", "still there?", 1.0)  # seq 3
    assert [m.seq for m in await store.messages(conversation_id, after_seq=1)] == [2, 3]
    later = await store.messages(conversation_id, after_seq=2, notes=True)
    assert [(m.seq, m.text) for m in later] == [(None, "late note"), (3, "still there?")]


async def test_a_client_id_sent_twice_is_stored_once_and_acknowledged_alike(
        store: Store) -> None:
    visitor = await new_visitor(store)
    first = await store.post_visitor_message(visitor, "same", "hello", 1.0)
    again = await store.post_visitor_message(visitor, "same", "hello (resent)", 1.0)
    assert not first.duplicate and again.duplicate
    assert again.message == first.message
    assert [m.text for m in await store.messages(first.message.conversation_id)] == ["hello"]
    assert await store.message_by_client_id(visitor, "same") == first.message


async def test_a_client_id_resent_at_once_many_times_is_stored_once_with_one_ack(
        store: Store) -> None:
    visitor = await new_visitor(store)
    agent, staff = await new_agent(store)
    conversation_id = await open_chat(store, visitor)
    await store.assign(conversation_id, agent.id, "Ann joined")
    results = await asyncio.gather(
        *(store.post_visitor_message(visitor, "twin", "hi", 1.0) for _ in range(10)),
        *(store.post_agent_message(conversation_id, staff, "twin", "hello", False)
          for _ in range(10)))
    by_visitor, by_agent = results[:10], results[10:]
    for resends in (by_visitor, by_agent):
        assert sum(not r.duplicate for r in resends) == 1
        assert len({(r.message.conversation_id, r.message.seq) for r in resends}) == 1
    assert await assert_gapless(store, conversation_id) == [1, 2, 3, 4]


async def test_the_same_client_id_from_another_sender_is_another_message(store: Store) -> None:
    vera, walt = await new_visitor(store, "Vera"), await new_visitor(store, "Walt")
    agent, staff = await new_agent(store)
    from_vera = await store.post_visitor_message(vera, "c1", "from Vera", 1.0)
    from_walt = await store.post_visitor_message(walt, "c1", "from Walt", 1.0)
    conversation_id = from_vera.message.conversation_id
    await store.assign(conversation_id, agent.id, "Ann joined")
    from_ann = await store.post_agent_message(conversation_id, staff, "c1", "from Ann",
                                              private=False)
    assert not from_walt.duplicate and not from_ann.duplicate
    assert from_walt.message.conversation_id != conversation_id
    assert from_walt.message.seq == 1
    assert from_ann.message.seq == 3 and from_ann.message.text == "from Ann"
    found = await store.message_by_client_id(walt, "c1")
    assert found is not None and found.text == "from Walt"


async def test_a_client_id_resent_a_day_later_is_still_the_first_message(
        store: Store, store_clock: Clock) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    store_clock.at = T0 + DAY + 1
    again = await store.post_visitor_message(visitor, "first", "hello", 1.0)
    assert again.duplicate and again.message.conversation_id == conversation_id
    assert await assert_gapless(store, conversation_id) == [1]


async def test_a_client_id_resent_after_the_conversation_closed_is_not_stored_again(
        store: Store) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    await store.close_conversation(conversation_id, "visitor", "Vera left")
    again = await store.post_visitor_message(visitor, "first", "hello", 1.0)
    assert again.duplicate and again.opened is None
    assert again.message.conversation_id == conversation_id and again.message.seq == 1
    assert await store.open_conversations() == []


async def test_an_old_client_id_resent_into_a_new_conversation_takes_no_number_there(
        store: Store) -> None:
    visitor = await new_visitor(store)
    first = await open_chat(store, visitor)
    await store.close_conversation(first, "visitor", "Vera left")
    second = await store.post_visitor_message(visitor, "second", "me again", 1.0)
    again = await store.post_visitor_message(visitor, "first", "hello", 1.0)
    assert again.duplicate and again.message.conversation_id == first
    later = await store.post_visitor_message(visitor, "third", "still me", 1.0)
    assert later.message.conversation_id == second.message.conversation_id
    assert await assert_gapless(store, second.message.conversation_id) == [1, 2]


async def test_a_message_after_the_close_opens_a_new_conversation(store: Store) -> None:
    visitor = await new_visitor(store)
    first = await open_chat(store, visitor)
    closed = await store.close_conversation(first, "visitor", "Vera left")
    assert closed.message.seq == 2 and closed.conversation.status == "closed"
    posted = await store.post_visitor_message(visitor, "second", "me again", 1.0)
    assert posted.opened is not None and posted.opened.id != first
    assert posted.message.seq == 1
    current = await store.current_conversation(visitor.id or "")
    assert current is not None and current.id == posted.opened.id
    latest_closed = await store.latest_closed(visitor.id or "")
    assert latest_closed is not None and latest_closed.id == first


async def test_an_agent_cannot_post_to_a_closed_conversation_but_can_add_a_note(
        store: Store) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    agent, staff = await new_agent(store)
    await store.assign(conversation_id, agent.id, "Ann joined")
    await store.close_conversation(conversation_id, "agent", "Ann closed the chat")
    with pytest.raises(NotAllowed):
        await store.post_agent_message(conversation_id, staff, "late", "too late", private=False)
    note = await store.post_agent_message(conversation_id, staff, "wrapup", "refunded",
                                          private=True)
    assert note.message.note_seq == 1
    assert await store.message_by_client_id(staff, "late") is None
    assert await assert_gapless(store, conversation_id) == [1, 2, 3]


async def test_open_conversations_are_the_queued_and_active_ones_with_their_rank(
        store: Store) -> None:
    queued = await open_chat(store, await new_visitor(store, "Vera"))
    active = await open_chat(store, await new_visitor(store, "Walt"))
    closed = await open_chat(store, await new_visitor(store, "Xena"))
    agent, _ = await new_agent(store)
    await store.assign(active, agent.id, "Ann joined")
    await store.close_conversation(closed, "visitor", "Xena left")
    found = {c.id: (c.status, rank) for c, rank in await store.open_conversations()}
    assert found.keys() == {queued, active}
    assert found[queued] == ("queued", 1.0)
    assert [c.id for c in await store.agent_conversations(agent.id)] == [active]


async def test_recent_waits_are_the_last_first_assignments_oldest_first(
        store: Store, store_clock: Clock) -> None:
    agent, _ = await new_agent(store)
    for waited in (5, 30, 12):
        conversation_id = await open_chat(store, await new_visitor(store))
        store_clock.at += waited
        await store.assign(conversation_id, agent.id, "Ann joined")
    assert await store.recent_waits(10) == [5, 30, 12]
    assert await store.recent_waits(2) == [30, 12]


async def test_a_read_mark_only_rises_and_never_past_the_last_message(store: Store) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    await store.post_visitor_message(visitor, "c2", "more", 1.0)
    assert await store.mark_read(conversation_id, "agent", 1) == 1
    assert await store.mark_read(conversation_id, "agent", 9) == 2
    assert await store.mark_read(conversation_id, "agent", 1) == 2
    assert await store.mark_read(conversation_id, "visitor", 1) == 1
    conversation = await stored(store, conversation_id)
    assert (conversation.agent_read_seq, conversation.visitor_read_seq) == (2, 1)
    assert await store.mark_read(conversation_id + 1, "agent", 1) == 0  # no such conversation


async def test_emailing_answers_is_claimed_by_one_of_those_who_try_at_once(
        store: Store) -> None:
    conversation_id = await open_chat(store, await new_visitor(store))
    claims = await asyncio.gather(*(store.claim_emailed(conversation_id, 0, 3)
                                    for _ in range(5)))
    assert claims.count(True) == 1
    assert (await stored(store, conversation_id)).emailed_seq == 3
    assert not await store.claim_emailed(conversation_id, 0, 4)  # a stale look claims nothing
    assert (await stored(store, conversation_id)).emailed_seq == 3


async def test_a_claim_to_email_answers_can_be_given_back(store: Store) -> None:
    conversation_id = await open_chat(store, await new_visitor(store))
    assert await store.claim_emailed(conversation_id, 0, 3)
    assert await store.claim_emailed(conversation_id, 3, 0)  # the mail could not be sent
    assert (await stored(store, conversation_id)).emailed_seq == 0
    assert await store.claim_emailed(conversation_id, 0, 4)


async def test_a_rating_is_kept_and_a_later_one_replaces_it(store: Store) -> None:
    conversation_id = await open_chat(store, await new_visitor(store))
    await store.close_conversation(conversation_id, "visitor", "Vera left")
    await store.rate(conversation_id, 2, None)
    await store.rate(conversation_id, 5, "quick and kind")
    admin = await store.add_agent("sue@example.com", "Sue", "admin", 3, None)
    [entry] = await store.inbox("closed", admin.id, True, None, 10)
    assert entry["rating"] == 5


async def test_a_closed_conversation_cannot_be_closed_again_and_takes_no_seq(
        store: Store) -> None:
    conversation_id = await open_chat(store, await new_visitor(store))
    await store.close_conversation(conversation_id, "visitor", "bye")
    with pytest.raises(NotAllowed):
        await store.close_conversation(conversation_id, "visitor", "bye again")
    assert await assert_gapless(store, conversation_id) == [1, 2]


async def test_the_current_conversation_is_the_open_one_else_the_latest_closed(
        store: Store) -> None:
    visitor = await new_visitor(store)
    assert await store.current_conversation(visitor.id or "") is None
    first = await open_chat(store, visitor)
    await store.close_conversation(first, "visitor", "Vera left")
    assert (await store.current_conversation(visitor.id or "")) == await stored(store, first)
    second = await store.post_visitor_message(visitor, "again", "me again", 1.0)
    current = await store.current_conversation(visitor.id or "")
    assert current is not None and current.id == second.message.conversation_id
    assert await store.latest_closed(visitor.id or "") == await stored(store, first)
    someone_else = await new_visitor(store, "Max")
    await open_chat(store, someone_else)
    assert await store.visitor_conversations(visitor.id or "") == [
        await stored(store, first), current]
    assert await store.visitor_conversations("no-such-visitor") == []


async def test_read_marks_sent_at_once_keep_the_highest(store: Store) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    await asyncio.gather(*(store.post_visitor_message(visitor, f"c{n}", "more", 1.0)
                           for n in range(9)))
    await asyncio.gather(*(store.mark_read(conversation_id, "agent", seq)
                           for seq in (3, 10, 1, 7)))
    assert (await stored(store, conversation_id)).agent_read_seq == 10


async def test_visitors_writing_at_once_each_open_their_own_conversation(store: Store) -> None:
    visitors = [await new_visitor(store, f"V{n}") for n in range(10)]
    results = await asyncio.gather(*(store.post_visitor_message(v, "first", "hi", 1.0)
                                     for v in visitors))
    assert all(r.opened is not None and r.message.seq == 1 for r in results)
    assert len({r.message.conversation_id for r in results}) == 10
    assert len(await store.open_conversations()) == 10


async def test_an_agents_client_id_resent_after_the_close_gets_the_first_message_again(
        store: Store) -> None:
    visitor = await new_visitor(store)
    conversation_id = await open_chat(store, visitor)
    agent, staff = await new_agent(store)
    await store.assign(conversation_id, agent.id, "Ann joined")
    first = await store.post_agent_message(conversation_id, staff, "a1", "Hello!", False)
    await store.close_conversation(conversation_id, "agent", "Ann closed the chat")
    again = await store.post_agent_message(conversation_id, staff, "a1", "Hello!", False)
    assert again.duplicate and again.message == first.message
    assert await assert_gapless(store, conversation_id) == [1, 2, 3, 4]


async def test_an_unknown_conversation_is_none_with_no_messages(store: Store) -> None:
    assert await store.conversation(404) is None
    assert await store.messages(404, notes=True) == []
    assert await store.latest_closed("no such visitor") is None
