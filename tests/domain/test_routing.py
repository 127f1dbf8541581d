"""Routing rules from the contract: who gets which conversation, and when.

Time is passed in explicitly; no socket, clock or database is involved.
"""

from __future__ import annotations

import random

import pytest

from chatserver.domain.routing import AgentSlot, Assignment, Router, RoutingError

ALICE, BOB, CAROL = 1, 2, 3


def online(router: Router, agent_id: int, capacity: int = 3,
           status: str = "available") -> AgentSlot:
    """An agent with one live console connection."""
    slot = router.agent(agent_id, capacity, status)
    router.connect(agent_id)
    return slot


def holding(router: Router, agent_id: int, *conversation_ids: int) -> None:
    """The agent already has these conversations (as after a restart)."""
    for conversation_id in conversation_ids:
        router.restore(conversation_id, agent_id)


def queued(router: Router, *conversation_ids: int, since: float = 0.0) -> None:
    """Visitors open these conversations one after another, starting at `since`."""
    for offset, conversation_id in enumerate(conversation_ids):
        router.enqueue(conversation_id, since + offset)


def assert_one_owner_each(router: Router) -> None:
    """Rule 5: every conversation is held by at most one agent, and held means not queued."""
    held: list[int] = []
    for slot in router.agents.values():
        held.extend(slot.conversations)
        for conversation_id in slot.conversations:
            assert router.owner[conversation_id] == slot.id
    assert len(held) == len(set(held)), "a conversation is held by two agents"
    assert set(held) == set(router.owner)
    assert not set(held) & {w.conversation_id for w in router.queue}


# --- rule 1: least loaded, then idle longest, queue first in first out -------------------

def test_queued_conversation_goes_to_least_loaded_agent() -> None:
    router = Router()
    online(router, ALICE)
    online(router, BOB)
    online(router, CAROL)
    holding(router, ALICE, 1, 2)
    holding(router, BOB, 3)
    holding(router, CAROL, 4, 5)
    queued(router, 10, since=100.0)

    assert router.plan(now=200.0) == [Assignment(10, BOB)]


def test_tie_goes_to_agent_idle_longest() -> None:
    router = Router()
    online(router, ALICE)
    online(router, BOB)
    queued(router, 1, 2, since=10.0)
    router.claim(1, BOB, now=20.0)
    router.claim(2, ALICE, now=50.0)
    router.release(1)  # both chats closed: equal load again
    router.release(2)
    queued(router, 3, since=60.0)

    assert router.plan(now=100.0) == [Assignment(3, BOB)]


def test_tie_goes_to_agent_idle_longest_whatever_their_ids() -> None:
    router = Router()
    online(router, ALICE)
    online(router, BOB)
    queued(router, 1, 2, since=10.0)
    router.claim(1, ALICE, now=20.0)
    router.claim(2, BOB, now=50.0)
    router.release(1)
    router.release(2)
    queued(router, 3, since=60.0)

    assert router.plan(now=100.0) == [Assignment(3, ALICE)]


def test_queue_is_first_in_first_out() -> None:
    router = Router()
    online(router, ALICE, capacity=1)
    queued(router, 7, 5, 9, since=100.0)

    assert router.plan(now=200.0) == [Assignment(7, ALICE)]
    router.release(7)
    assert router.plan(now=210.0) == [Assignment(5, ALICE)]
    router.release(5)
    assert router.plan(now=220.0) == [Assignment(9, ALICE)]


def test_burst_of_visitors_is_spread_evenly_across_free_agents() -> None:
    router = Router()
    alice = online(router, ALICE)
    bob = online(router, BOB)
    queued(router, 1, 2, 3, 4, since=100.0)

    made = router.plan(now=200.0)

    assert [a.conversation_id for a in made] == [1, 2, 3, 4]
    assert alice.load == bob.load == 2
    assert router.queue == []


def test_conversations_beyond_everyones_capacity_keep_waiting_in_order() -> None:
    router = Router()
    online(router, ALICE, capacity=1)
    online(router, BOB, capacity=1)
    queued(router, 1, 2, 3, 4, since=100.0)

    made = router.plan(now=200.0)

    assert {a.conversation_id for a in made} == {1, 2}
    assert router.positions() == {3: 1, 4: 2}


def test_agent_without_a_live_connection_gets_nothing() -> None:
    router = Router()
    router.agent(ALICE, 3, "available")  # chose available, but no console open
    queued(router, 1)

    assert router.plan(now=10.0) == []
    assert router.positions() == {1: 1}


def test_agent_with_zero_capacity_gets_nothing() -> None:
    router = Router()
    online(router, ALICE, capacity=0)
    queued(router, 1)

    assert router.plan(now=10.0) == []


# --- rule 2: capacity frees, the oldest waiting is assigned at once ------------------------

def test_full_agent_gets_nothing_until_capacity_frees() -> None:
    router = Router()
    online(router, ALICE, capacity=2)
    holding(router, ALICE, 1, 2)
    queued(router, 3, 4, since=100.0)

    assert router.plan(now=200.0) == []

    router.release(1)  # Alice closes a chat
    assert router.plan(now=210.0) == [Assignment(3, ALICE)]
    assert router.positions() == {4: 1}


def test_agent_becoming_available_takes_the_oldest_waiting_conversation() -> None:
    router = Router()
    online(router, ALICE, capacity=1, status="away")
    queued(router, 1, 2, since=100.0)
    assert router.plan(now=150.0) == []

    router.agent(ALICE, 1, "available")

    assert router.plan(now=200.0) == [Assignment(1, ALICE)]
    assert router.positions() == {2: 1}


def test_queue_positions_move_up_as_conversations_ahead_leave() -> None:
    router = Router()
    queued(router, 1, 2, 3, 4, since=100.0)
    assert router.positions() == {1: 1, 2: 2, 3: 3, 4: 4}

    router.release(2)  # that visitor gave up and closed the chat
    assert router.positions() == {1: 1, 3: 2, 4: 3}

    online(router, ALICE, capacity=1)
    router.plan(now=200.0)
    assert router.positions() == {3: 1, 4: 2}


def test_only_queued_conversations_have_a_position() -> None:
    router = Router()
    online(router, ALICE, capacity=1)
    queued(router, 1, 2, since=100.0)
    router.plan(now=200.0)

    assert 1 not in router.positions()
    assert not router.is_queued(1)
    assert router.is_queued(2)


# --- rule 3: grace period after the last connection drops ---------------------------------

def test_grace_period_requeues_to_front_in_old_order() -> None:
    router = Router()
    alice = online(router, ALICE)
    queued(router, 4, 7, since=10.0)
    router.plan(now=20.0)
    queued(router, 10, 11, since=30.0)  # these arrived while Alice was working

    assert router.disconnect(ALICE, now=100.0) is True
    assert not router.grace_expired(ALICE, now=159.9, grace=60.0)
    assert router.grace_expired(ALICE, now=160.0, grace=60.0)

    assert router.requeue_agent(ALICE, now=160.0) == [4, 7]
    assert router.positions() == {4: 1, 7: 2, 10: 3, 11: 4}
    assert alice.load == 0
    assert router.owner == {}


def test_conversations_stay_with_the_disconnected_agent_during_grace() -> None:
    router = Router()
    online(router, ALICE)
    online(router, BOB)
    holding(router, ALICE, 1)
    router.disconnect(ALICE, now=100.0)
    queued(router, 2, since=110.0)

    assert router.plan(now=120.0) == [Assignment(2, BOB)]
    assert router.owner[1] == ALICE


def test_reconnect_within_grace_keeps_conversations() -> None:
    router = Router()
    alice = online(router, ALICE)
    holding(router, ALICE, 1, 2)
    router.disconnect(ALICE, now=100.0)

    router.connect(ALICE)

    assert not router.grace_expired(ALICE, now=1000.0, grace=60.0)
    assert alice.conversations == {1, 2}
    assert router.agents_online() == 1


def test_closing_one_of_two_consoles_starts_no_grace_period() -> None:
    router = Router()
    online(router, ALICE)
    router.connect(ALICE)  # a second tab
    holding(router, ALICE, 1)

    assert router.disconnect(ALICE, now=100.0) is False
    assert not router.grace_expired(ALICE, now=1000.0, grace=60.0)
    assert router.agents_online() == 1


def test_after_restart_grace_starts_for_agents_not_connected() -> None:
    router = Router()
    router.agent(ALICE, 3, "available")
    holding(router, ALICE, 1)  # assignment loaded from the store; nobody connected yet

    assert router.disconnect(ALICE, now=500.0) is True
    assert not router.grace_expired(ALICE, now=559.0, grace=60.0)
    assert router.grace_expired(ALICE, now=560.0, grace=60.0)


def test_grace_of_an_unknown_agent_never_expires() -> None:
    assert not Router().grace_expired(99, now=1e9, grace=60.0)


def test_requeued_conversations_go_to_another_free_agent_at_once() -> None:
    router = Router()
    online(router, ALICE)
    online(router, BOB)
    holding(router, ALICE, 1, 2)
    router.disconnect(ALICE, now=100.0)
    router.requeue_agent(ALICE, now=160.0)

    made = router.plan(now=160.0)

    assert made == [Assignment(1, BOB), Assignment(2, BOB)]


# --- rule 4: away agents ---------------------------------------------------------------

def test_away_agent_gets_no_new_conversations_but_keeps_current() -> None:
    router = Router()
    alice = online(router, ALICE)
    holding(router, ALICE, 1)

    router.agent(ALICE, 3, "away")
    queued(router, 2, since=100.0)

    assert router.plan(now=200.0) == []
    assert alice.conversations == {1}
    assert router.owner[1] == ALICE
    assert router.positions() == {2: 1}


def test_away_agent_is_passed_over_for_an_available_one() -> None:
    router = Router()
    online(router, ALICE, status="away")
    online(router, BOB)
    holding(router, BOB, 1, 2)
    queued(router, 3, since=100.0)

    assert router.plan(now=200.0) == [Assignment(3, BOB)]


# --- transfers and claims ---------------------------------------------------------------

def test_transfer_to_a_free_agent_moves_the_conversation() -> None:
    router = Router()
    alice = online(router, ALICE)
    bob = online(router, BOB)
    holding(router, ALICE, 1)

    previous = router.transfer(1, BOB, now=100.0)

    assert previous == ALICE
    assert router.owner[1] == BOB
    assert alice.conversations == set()
    assert bob.conversations == {1}


@pytest.mark.parametrize("target", ["away", "full", "unknown", "offline", "themselves"])
def test_transfer_to_away_full_or_unknown_agent_is_conflict(target: str) -> None:
    router = Router()
    alice = online(router, ALICE)
    holding(router, ALICE, 1)
    to_agent = BOB
    if target == "away":
        online(router, BOB, status="away")
    elif target == "full":
        online(router, BOB, capacity=1)
        holding(router, BOB, 2)
    elif target == "offline":
        router.agent(BOB, 3, "available")
    elif target == "themselves":
        to_agent = ALICE
    # "unknown": Bob was never seen

    with pytest.raises(RoutingError) as refused:
        router.transfer(1, to_agent, now=100.0)

    assert refused.value.code == "conflict"
    assert router.owner[1] == ALICE
    assert alice.conversations == {1}


def test_transfer_of_a_conversation_nobody_holds_is_conflict() -> None:
    router = Router()
    online(router, ALICE)
    queued(router, 1)

    with pytest.raises(RoutingError) as refused:
        router.transfer(1, ALICE, now=100.0)

    assert refused.value.code == "conflict"
    assert router.is_queued(1)


def test_transfer_back_to_queue_goes_to_the_front() -> None:
    router = Router()
    online(router, ALICE, capacity=1)
    holding(router, ALICE, 1)
    queued(router, 5, 6, since=100.0)

    assert router.transfer(1, None, now=200.0) == ALICE
    assert router.positions()[1] == 1


def test_transfer_back_to_queue_never_returns_to_same_agent_while_another_is_free() -> None:
    router = Router()
    online(router, ALICE)
    online(router, BOB)
    holding(router, ALICE, 1)
    holding(router, BOB, 2)  # Bob is busier than Alice will be

    router.transfer(1, None, now=100.0)

    assert router.plan(now=100.0) == [Assignment(1, BOB)]


def test_conversation_sent_back_goes_to_another_agent_who_can_take_it() -> None:
    router = Router()
    online(router, ALICE)
    online(router, BOB)
    holding(router, ALICE, 1)
    holding(router, BOB, 2)  # Bob is busier, yet the chat Alice let go goes to him

    router.transfer(1, None, now=100.0)

    assert router.plan(now=120.0) == [Assignment(1, BOB)]


def test_conversation_sent_back_returns_at_once_when_nobody_else_can_take_it() -> None:
    """Rule 2: capacity is free, so the queue does not wait."""
    router = Router()
    online(router, ALICE)
    holding(router, ALICE, 1)
    queued(router, 7, since=110.0)

    router.transfer(1, None, now=100.0)

    assert router.plan(now=120.0) == [Assignment(1, ALICE), Assignment(7, ALICE)]


def test_claim_takes_a_queued_conversation_and_the_rest_move_up() -> None:
    router = Router()
    alice = online(router, ALICE)
    queued(router, 1, 2, 3, since=100.0)

    router.claim(2, ALICE, now=200.0)

    assert router.owner[2] == ALICE
    assert alice.conversations == {2}
    assert router.positions() == {1: 1, 3: 2}


def test_claim_of_assigned_conversation_is_conflict() -> None:
    router = Router()
    online(router, ALICE)
    bob = online(router, BOB)
    holding(router, ALICE, 1)

    with pytest.raises(RoutingError) as refused:
        router.claim(1, BOB, now=100.0)

    assert refused.value.code == "conflict"
    assert router.owner[1] == ALICE
    assert bob.conversations == set()


@pytest.mark.parametrize("conversation_id", [404, 1], ids=["unknown", "closed"])
def test_claim_of_unknown_or_closed_conversation_is_conflict(conversation_id: int) -> None:
    router = Router()
    online(router, ALICE)
    queued(router, 1)
    router.release(1)  # the visitor closed it while waiting

    with pytest.raises(RoutingError) as refused:
        router.claim(conversation_id, ALICE, now=100.0)

    assert refused.value.code == "conflict"
    assert router.owner == {}


# --- rule 5: never two agents ------------------------------------------------------------

def test_never_two_agents_for_one_conversation() -> None:
    router = Router()
    online(router, ALICE)
    online(router, BOB)
    queued(router, 1)

    router.claim(1, ALICE, now=100.0)
    with pytest.raises(RoutingError):
        router.claim(1, BOB, now=100.0)
    assert router.plan(now=100.0) == []

    assert router.owner == {1: ALICE}
    assert_one_owner_each(router)


def test_a_conversation_both_queued_and_held_is_not_given_again() -> None:
    router = Router()
    online(router, ALICE)
    online(router, BOB)
    holding(router, ALICE, 1)
    router.enqueue(1, 10.0)  # a stale queue entry racing with an assignment

    with pytest.raises(RoutingError) as refused:
        router.claim(1, BOB, now=100.0)

    assert refused.value.code == "conflict"
    assert router.owner[1] == ALICE


@pytest.mark.parametrize("seed", range(20))
def test_never_two_agents_whatever_happens_in_any_order(seed: int) -> None:
    rng = random.Random(seed)
    router = Router()
    agents = [ALICE, BOB, CAROL]
    for agent_id in agents:
        router.agent(agent_id, rng.randint(1, 3), "available")
    next_conversation = 1
    now = 0.0
    for _ in range(300):
        now += rng.random()
        action = rng.choice(["open", "open", "plan", "claim", "transfer", "close",
                             "connect", "disconnect", "presence", "requeue"])
        agent_id = rng.choice(agents)
        some = rng.randint(1, max(1, next_conversation))
        try:
            if action == "open":
                router.enqueue(next_conversation, now)
                next_conversation += 1
            elif action == "plan":
                router.plan(now)
            elif action == "claim":
                router.claim(some, agent_id, now)
            elif action == "transfer":
                router.transfer(some, rng.choice([None, *agents]), now)
            elif action == "close":
                router.release(some)
            elif action == "connect":
                router.connect(agent_id)
            elif action == "disconnect":
                router.disconnect(agent_id, now)
            elif action == "presence":
                router.agent(agent_id, rng.randint(1, 3), rng.choice(["available", "away"]))
            elif not router.agents[agent_id].online:
                router.requeue_agent(agent_id, now)
        except RoutingError as refused:
            assert refused.code == "conflict"
        assert_one_owner_each(router)
        assert sorted(router.positions().values()) == list(range(1, len(router.queue) + 1))


# --- agents_online ------------------------------------------------------------------------

def test_agents_online_counts_available_connected_agents() -> None:
    router = Router()
    online(router, ALICE)  # counts
    online(router, BOB, status="away")  # connected but away: does not count
    router.agent(CAROL, 3, "available")  # available but no console open: does not count
    online(router, 4, capacity=1)  # counts even when full
    holding(router, 4, 9)

    assert router.agents_online() == 2


def test_agents_online_drops_when_the_last_connection_closes() -> None:
    router = Router()
    online(router, ALICE)
    router.connect(ALICE)

    router.disconnect(ALICE, now=10.0)
    assert router.agents_online() == 1
    router.disconnect(ALICE, now=11.0)
    assert router.agents_online() == 0


def test_agents_online_follows_presence_changes() -> None:
    router = Router()
    online(router, ALICE, status="away")
    assert router.agents_online() == 0

    router.agent(ALICE, 3, "available")
    assert router.agents_online() == 1
