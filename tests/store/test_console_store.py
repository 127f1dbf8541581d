"""The Store's contract for the console and admins, through the interface alone (no SQL), so
that it holds for every backend: inbox views and search, a visitor's other conversations,
escalation, follow-ups, canned responses, agents and API tokens, the reports' facts."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from chatserver.domain.clock import iso
from chatserver.domain.errors import Refused
from chatserver.domain.models import Author, Message
from chatserver.store import Store
from chatserver.store.base import INBOX_VIEWS, AgentChanges
from tests.conftest import Clock

LATER = "2999-01-01T09:00:00.000Z"  # a due date no test's clock reaches


async def open_chat(store: Store, name: str = "Vera", text: str = "hello") -> int:
    """A new visitor's first message: a new queued conversation."""
    visitor, _ = await store.create_visitor({"name": name})
    posted = await store.post_visitor_message(Author("visitor", name, visitor.id), "c1", text,
                                              1.0)
    return posted.message.conversation_id


async def test_queued_conversations_are_listed_for_everyone_who_oversees_and_closed_ones_too(
        store: Store) -> None:
    agent = await store.add_agent("ann@example.com", "Ann", "agent", 3, None)
    waiting, done = await open_chat(store, "Vera"), await open_chat(store, "Walt")
    await store.close_conversation(done, "agent", "Closed.")
    assert [c["id"] for c in await store.inbox("queued", agent.id, False, None, 10)] == [waiting]
    assert [c["id"] for c in await store.inbox("open", 0, True, None, 10)] == [waiting]
    assert [c["id"] for c in await store.inbox("closed", 0, True, None, 10)] == [done]
    assert await store.inbox("closed", agent.id, False, None, 10) == []  # not Ann's
    assert await store.inbox("mine", agent.id, False, None, 10) == []
    [entry] = await store.inbox("queued", agent.id, False, None, 10)
    assert (entry["status"], entry["last_message"], entry["visitor"]["name"]) == (
        "queued", "hello", "Vera")
    assert entry["agent"] is None and entry["unanswered_since"] is not None


async def test_unanswered_lists_the_open_chats_waiting_for_an_answer_since_a_time_or_longer(
        store: Store, store_clock: Clock) -> None:
    agent = await store.add_agent("ann@example.com", "Ann", "agent", 3, None)
    ann = Author("agent", "Ann", str(agent.id))
    long_waiting = await open_chat(store, "Vera")
    answered = await open_chat(store, "Walt")
    await store.assign(answered, agent.id, "Ann joined")
    await store.post_agent_message(answered, ann, "a1", "Hello Walt", private=False)
    closed = await open_chat(store, "Xena")
    await store.close_conversation(closed, "visitor", "Xena left")
    store_clock.at += 600
    await open_chat(store, "Yuri")  # waiting, but not for long
    before = iso(store_clock.at - 300)
    assert [c["id"] for c in await store.unanswered(before, 10)] == [long_waiting]
    assert len(await store.unanswered(iso(store_clock.at), 10)) == 2


async def test_a_chat_waits_from_the_visitor_s_first_message_after_the_last_answer(
        store: Store, store_clock: Clock) -> None:
    agent = await store.add_agent("ann@example.com", "Ann", "agent", 3, None)
    ann = Author("agent", "Ann", str(agent.id))
    visitor, _ = await store.create_visitor({"name": "Vera"})
    vera = Author("visitor", "Vera", visitor.id)

    async def waiting_since() -> str | None:
        [entry] = await store.inbox("all", 0, True, None, 10)
        return entry["unanswered_since"]
    chat = (await store.post_visitor_message(vera, "v1", "hello", 1.0)).message.conversation_id
    asked = iso(store_clock.at)
    store_clock.at += 60
    await store.assign(chat, agent.id, "Ann joined")  # a system message answers nothing
    await store.post_agent_message(chat, ann, "n1", "checking the order", private=True)
    await store.post_visitor_message(vera, "v2", "anyone?", None)
    assert await waiting_since() == asked
    await store.post_agent_message(chat, ann, "a1", "Hello Vera", private=False)
    assert await waiting_since() is None
    store_clock.at += 60
    resent = await store.post_visitor_message(vera, "v2", "anyone?", None)
    assert resent.duplicate and await waiting_since() is None  # asked before the answer
    await store.post_visitor_message(vera, "v3", "one more thing", None)
    assert await waiting_since() == iso(store_clock.at)
    assert [c["id"] for c in await store.unanswered(iso(store_clock.at), 10)] == [chat]
    assert await store.unanswered(iso(store_clock.at - 1), 10) == []


async def test_every_view_the_interface_names_can_be_listed(store: Store) -> None:
    for view in INBOX_VIEWS:
        assert await store.inbox(view, 0, True, None, 10) == []


async def test_a_search_finds_a_message_committed_just_before_it_with_the_words_found(
        store: Store) -> None:
    wanted = await open_chat(store, "Vera", "I would like a refund for my course")
    await open_chat(store, "Walt", "where is my parcel")
    [found] = await store.inbox("all", 0, True, "refun", 10)
    assert found["id"] == wanted
    assert found["snippet"] is not None and "refund" in found["snippet"]


async def test_a_search_matches_every_word_at_a_words_start_in_any_case_and_cuts_its_snippet(
        store: Store) -> None:
    long = await open_chat(store, "Vera", "Good morning! I ordered a blue jumper two weeks ago "
                           "and my parcel still has not arrived, sadly.")
    short = await open_chat(store, "Walt", "Where is my PARCEL?")
    await open_chat(store, "Xena", "my sparcel is fine")  # inside a word: no match
    found = await store.inbox("all", 0, True, "parc", 10)
    assert [(c["id"], c["snippet"]) for c in found] == [
        (short, "Where is my PARCEL?"),
        (long, "…jumper two weeks ago and my parcel still has not arrived, sadly.")]
    assert [c["id"] for c in await store.inbox("all", 0, True, "blue parcel", 10)] == [long]
    assert await store.inbox("all", 0, True, "blue where", 10) == []  # one word each


async def test_a_search_for_no_words_is_refused(store: Store) -> None:
    with pytest.raises(Refused) as refused:
        await store.inbox("all", 0, True, "?!", 10)
    assert refused.value.status == 422


async def test_history_is_the_visitors_other_conversations_newest_first(store: Store) -> None:
    visitor, _ = await store.create_visitor({"name": "Vera"})
    author = Author("visitor", "Vera", visitor.id)
    ids = []
    for n in range(3):
        posted = await store.post_visitor_message(author, f"c{n}", "hello", 1.0)
        ids.append(posted.message.conversation_id)
        if n < 2:
            await store.close_conversation(ids[-1], "visitor", "Closed.")
    await open_chat(store, "Walt")
    assert [c["id"] for c in await store.history(ids[2])] == [ids[1], ids[0]]


async def test_an_escalation_marks_the_conversation_and_posts_its_message_once_committed(
        store: Store) -> None:
    conversation_id = await open_chat(store)
    committed: list[Message] = []
    message = await store.escalate(conversation_id, "angry customer",
                                   "Ann asked a supervisor to join the chat.",
                                   on_commit=committed.append)
    assert committed == [message]
    assert (message.author.role, message.seq) == ("system", 2)
    [entry] = await store.inbox("open", 0, True, None, 10)
    assert entry["escalated_at"] is not None and entry["escalation_note"] == "angry customer"


async def test_a_closed_conversation_cannot_be_escalated_and_nothing_is_posted(
        store: Store) -> None:
    conversation_id = await open_chat(store)
    await store.close_conversation(conversation_id, "agent", "Closed.")
    with pytest.raises(Refused) as refused:
        await store.escalate(conversation_id, None, "Ann asked a supervisor to join the chat.")
    assert refused.value.status == 404
    assert [m.text for m in await store.messages(conversation_id)] == ["hello", "Closed."]


async def test_a_follow_up_is_kept_told_to_the_visitor_and_done_once(store: Store) -> None:
    agent = await store.add_agent("ann@example.com", "Ann", "agent", 3, None)
    conversation_id = await open_chat(store)
    found, message = await store.add_follow_up(conversation_id, agent.id, LATER, "the refund",
                                               "Ann will get back to you.")
    assert (found["note"], found["agent"], found["visitor"]["name"]) == (
        "the refund", {"id": agent.id, "name": "Ann"}, "Vera")
    assert (found["overdue"], found["done_at"]) == (False, None)
    assert [m.text for m in await store.messages(conversation_id)] == [
        "hello", "Ann will get back to you."] and message.seq == 2
    assert await store.follow_ups(agent.id, include_done=False) == [found]
    done = await store.complete_follow_up(found["id"])
    assert done["done_at"] is not None
    assert await store.complete_follow_up(found["id"]) == done  # the first time stays
    assert await store.follow_up(found["id"]) == done
    assert await store.follow_ups(None, include_done=False) == []
    assert await store.follow_ups(None, include_done=True) == [done]


async def test_a_follow_up_completed_twice_at_once_keeps_the_first_time(store: Store) -> None:
    agent = await store.add_agent("ann@example.com", "Ann", "agent", 3, None)
    found, _ = await store.add_follow_up(await open_chat(store), agent.id, LATER, "call", "")
    first, second = await asyncio.gather(store.complete_follow_up(found["id"]),
                                         store.complete_follow_up(found["id"]))
    assert first == second == await store.follow_up(found["id"])


async def test_follow_ups_are_listed_soonest_due_first_one_agents_or_everyones(
        store: Store) -> None:
    ann = await store.add_agent("ann@example.com", "Ann", "agent", 3, None)
    bob = await store.add_agent("bob@example.com", "Bob", "agent", 3, None)
    conversation_id = await open_chat(store)
    await store.add_follow_up(conversation_id, ann.id, "2999-02-01T00:00:00.000Z", "late", "")
    await store.add_follow_up(conversation_id, bob.id, "2999-01-01T00:00:00.000Z", "soon", "")
    assert [f["note"] for f in await store.follow_ups(None, False)] == ["soon", "late"]
    assert [f["note"] for f in await store.follow_ups(ann.id, False)] == ["late"]


async def test_no_follow_up_is_kept_for_an_unknown_conversation_nor_found_by_an_unknown_id(
        store: Store) -> None:
    agent = await store.add_agent("ann@example.com", "Ann", "agent", 3, None)
    for attempt in (store.add_follow_up(404, agent.id, LATER, "note", "told"),
                    store.follow_up(404), store.complete_follow_up(404)):
        with pytest.raises(Refused) as refused:
            await attempt
        assert refused.value.status == 404


async def test_canned_responses_are_listed_by_shortcut_each_shortcut_once(store: Store) -> None:
    thanks = await store.add_canned("thanks", "Thank you!")
    hours = await store.add_canned("hours", "We answer 9 to 5.")
    assert await store.canned() == [hours, thanks]
    with pytest.raises(Refused) as taken:
        await store.add_canned("hours", "Another text")
    assert taken.value.status == 409
    await store.delete_canned(hours["id"])
    assert await store.canned() == [thanks]
    with pytest.raises(Refused) as gone:
        await store.delete_canned(hours["id"])
    assert gone.value.status == 404


async def test_one_shortcut_added_twice_at_once_is_one_canned_response(store: Store) -> None:
    results = await asyncio.gather(store.add_canned("hours", "9 to 5"),
                                   store.add_canned("hours", "10 to 6"), return_exceptions=True)
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(refused) == 1 and refused[0].status == 409
    assert [c["shortcut"] for c in await store.canned()] == ["hours"]


async def test_an_admin_adds_and_changes_agents_listed_by_name(store: Store) -> None:
    admin = await store.add_agent("ada@example.com", "Ada", "admin", 0, None)
    zoe = await store.add_agent_account("zoe@example.com", "zoe", "agent", 3, None, admin.id)
    assert [a["name"] for a in await store.agent_accounts()] == ["Ada", "zoe"]
    with pytest.raises(Refused) as taken:
        await store.add_agent_account("zoe@example.com", "Zoe", "agent", 3, None, admin.id)
    assert taken.value.status == 409
    changed = await store.change_agent_account(zoe["id"], AgentChanges(
        name=None, role="supervisor", capacity=None, disabled=True, password_hash=None),
        admin.id)
    assert {**zoe, "role": "supervisor", "disabled": True} == changed
    with pytest.raises(Refused) as unknown:
        await store.change_agent_account(404, changed_nothing(), admin.id)
    assert unknown.value.status == 404


def changed_nothing() -> AgentChanges:
    return AgentChanges(name=None, role=None, capacity=None, disabled=None, password_hash=None)


async def test_a_token_issued_works_until_revoked_and_its_secret_is_never_listed(
        store: Store) -> None:
    admin = await store.add_agent("ada@example.com", "Ada", "admin", 0, None)
    ann = await store.add_agent("ann@example.com", "Ann", "agent", 3, None)
    issued = await store.issue_token(ann.id, "laptop", admin.id)
    assert await store.agent_by_token(issued["token"]) == ann
    [listed] = await store.api_tokens(ann.id)
    assert (listed["id"], listed["label"], listed["integration"]) == (issued["id"], "laptop",
                                                                       False)
    assert "token" not in listed
    assert await store.revoke_token(issued["id"], ann.id, ann.id) == ann.id
    assert await store.agent_by_token(issued["token"]) is None
    assert (await store.api_tokens(None))[0]["revoked_at"] is not None


async def test_an_agent_revokes_only_their_own_tokens_and_integration_tokens_act_for_no_one(
        store: Store) -> None:
    admin = await store.add_agent("ada@example.com", "Ada", "admin", 0, None)
    ann = await store.add_agent("ann@example.com", "Ann", "agent", 3, None)
    shop = await store.issue_token(None, "shop", admin.id)
    assert shop["integration"] and await store.integration_by_token(shop["token"]) is not None
    with pytest.raises(Refused) as refused:
        await store.revoke_token(shop["id"], ann.id, ann.id)
    assert refused.value.status == 404
    assert await store.revoke_token(shop["id"], None, admin.id) is None
    with pytest.raises(Refused) as unknown:
        await store.issue_token(404, None, admin.id)
    assert unknown.value.status == 404


async def test_the_report_facts_are_the_chats_started_in_the_range(
        store: Store, store_clock: Clock) -> None:
    conversation_id = await open_chat(store)
    day = date(2026, 3, 2)  # the store clock's day
    chats, money = await store.report_facts(day, day)
    assert [(c.conversation_id, c.day, c.assigned) for c in chats] == [
        (conversation_id, day, None)]
    assert money == []
    assert await store.report_facts(date(2026, 3, 3), date(2026, 3, 9)) == ([], [])


async def test_an_alert_is_raised_by_the_first_of_those_who_claim_it(store: Store) -> None:
    claims = await asyncio.gather(*(store.claim_alert("unanswered", 7, "2026-03-02T00:00:00Z")
                                    for _ in range(5)))
    assert claims.count(True) == 1
    assert not await store.claim_alert("unanswered", 7, "2026-03-02T00:00:00Z")


async def test_alerts_of_another_kind_subject_or_mark_are_claimed_apart(store: Store) -> None:
    assert await store.claim_alert("unanswered", 7, "2026-03-02T00:00:00Z")
    assert await store.claim_alert("unanswered", 7, "2026-03-02T00:05:00Z")  # waiting anew
    assert await store.claim_alert("unanswered", 8, "2026-03-02T00:00:00Z")
    assert await store.claim_alert("overdue", 7, "2026-03-02T00:00:00Z")
