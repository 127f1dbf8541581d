"""The Store's people and settings, through the interface alone (no SQL), so that the contract
holds for every backend: settings and secrets, agents, their sessions and API tokens, and
visitors (made, told more, verified, found by their token)."""

from __future__ import annotations

import asyncio

import pytest

from chatserver.domain.models import Agent, Author
from chatserver.store import AlreadyExists, Store
from chatserver.store.base import AgentChanges


async def new_agent(store: Store, name: str = "Ann", role: str = "agent") -> Agent:
    return await store.add_agent(f"{name.lower()}@example.com", name, role, 3, "hash")


async def test_a_secret_is_made_once_and_kept_even_when_first_asked_at_once(
        store: Store) -> None:
    first, second = await asyncio.gather(store.secret("secret_key"), store.secret("secret_key"))
    assert first == second and len(first) >= 32
    assert await store.secret("secret_key") == first
    assert await store.secret("another") != first


async def test_a_setting_is_none_until_set_and_the_last_value_set_is_kept(
        store: Store) -> None:
    assert await store.setting("greeting") is None
    await store.set_setting("greeting", "Hi!")
    await store.set_setting("greeting", "Hello!")
    assert await store.setting("greeting") == "Hello!"


async def test_an_agent_is_added_found_and_listed_in_the_order_added(store: Store) -> None:
    ann, bob = await new_agent(store, "Ann"), await new_agent(store, "Bob", "supervisor")
    assert (bob.name, bob.email, bob.role, bob.capacity) == (
        "Bob", "bob@example.com", "supervisor", 3)
    assert await store.agent(ann.id) == ann
    assert await store.agent(bob.id + 1) is None
    assert [a.id for a in await store.agents()] == [ann.id, bob.id]


async def test_an_email_is_one_agents(store: Store) -> None:
    await new_agent(store)
    with pytest.raises(AlreadyExists):
        await new_agent(store)


async def test_an_agent_logs_in_by_email_with_the_password_hash_last_set(store: Store) -> None:
    ann = await new_agent(store)
    await store.set_password(ann.id, "new hash")
    assert await store.agent_login("ann@example.com") == (ann, "new hash")
    assert await store.agent_login("nobody@example.com") is None


async def test_an_agents_presence_is_kept(store: Store) -> None:
    ann = await new_agent(store)
    await store.set_presence(ann.id, "away")
    found = await store.agent(ann.id)
    assert found is not None and found.status == "away"


async def test_a_session_finds_its_agent_and_csrf_token_until_it_ends(store: Store) -> None:
    ann = await new_agent(store)
    first, second, third = [await store.create_session(ann.id) for _ in range(3)]
    found = await store.session(first)
    assert found is not None and found[0] == ann and found[1]
    assert found[1] != (await store.session(second) or (ann, ""))[1]
    await store.end_sessions(ann.id, first)
    assert await store.session(first) is None and await store.session(second) is not None
    await store.end_sessions(ann.id, kept=third)
    assert await store.session(second) is None and await store.session(third) is not None
    assert await store.session("no such session") is None


async def test_a_token_acts_for_its_agent_and_an_integration_token_for_no_one(
        store: Store) -> None:
    ann = await new_agent(store)
    agent_token = await store.create_token(ann.id, "laptop")
    shop_token = await store.create_token(None, "shop")
    assert await store.agent_by_token(agent_token) == ann
    assert await store.agent_by_token(shop_token) is None
    assert await store.integration_by_token(agent_token) is None
    integration = await store.integration_by_token(shop_token)
    assert integration is not None and integration.token_id == await store.token_id(shop_token)
    assert await store.token_id(agent_token) not in (None, integration.token_id)
    assert await store.token_id(agent_token + "x") is None


async def test_a_visitor_token_finds_its_visitor_and_no_other(store: Store) -> None:
    vera, vera_token = await store.create_visitor({"name": "Vera"})
    walt, walt_token = await store.create_visitor({"name": "Walt"})
    found = await store.visitor_by_token(vera_token)
    assert found is not None and found.id == vera.id
    other = await store.visitor_by_token(walt_token)
    assert other is not None and other.id == walt.id
    assert await store.visitor_by_token(vera_token + "x") is None
    assert vera_token not in str(await store.visitor(vera.id))


async def test_a_visitor_is_made_with_the_details_given_and_no_others(store: Store) -> None:
    vera, _token = await store.create_visitor({"name": "Vera", "page": "/pricing",
                                               "timezone": "Europe/Paris", "role": "admin"})
    assert (vera.name, vera.email, vera.page, vera.timezone) == (
        "Vera", None, "/pricing", "Europe/Paris")
    assert await store.visitor(vera.id) == vera
    assert await store.visitor("no such visitor") is None


async def test_a_visitor_is_told_more_and_what_they_leave_out_is_kept(store: Store) -> None:
    vera, _token = await store.create_visitor({"name": "Vera", "page": "/pricing"})
    updated = await store.update_visitor(vera, {"email": "vera@example.com", "page": None})
    assert (updated.name, updated.email, updated.page) == ("Vera", "vera@example.com",
                                                            "/pricing")
    assert await store.visitor(vera.id) == updated


async def test_a_verified_visitors_email_is_never_overwritten(store: Store) -> None:
    vera, token = await store.create_visitor({"name": "Vera"})
    verified = await store.verify_visitor(vera, token, "u-1", "vera@example.com", None)
    assert verified.verified and verified.customer_id is not None
    assert verified.email == "vera@example.com" and verified.name == "Vera"
    updated = await store.update_visitor(verified, {"email": "other@example.com"})
    assert updated.email == "vera@example.com"
    assert await store.visitor(vera.id) == updated


async def test_a_customer_verified_on_a_second_device_is_their_first_visitor_there(
        store: Store) -> None:
    first, first_token = await store.create_visitor({"name": "Vera"})
    await store.verify_visitor(first, first_token, "u-1", "vera@example.com", "Vera Lin")
    posted = await store.post_visitor_message(Author("visitor", "Vera", first.id), "c1",
                                              "hello", 1.0)
    second, second_token = await store.create_visitor({})
    same = await store.verify_visitor(second, second_token, "u-1", "vera@example.com", None)
    assert same.id == first.id and same.name == "Vera Lin"
    found = await store.visitor_by_token(second_token)
    assert found is not None and found.id == first.id
    current = await store.current_conversation(first.id)
    assert current is not None and current.id == posted.message.conversation_id
    assert current.customer_id == same.customer_id


async def test_one_email_added_twice_at_once_is_one_agent(store: Store) -> None:
    results = await asyncio.gather(new_agent(store), new_agent(store), return_exceptions=True)
    assert sum(isinstance(r, Agent) for r in results) == 1
    assert sum(isinstance(r, AlreadyExists) for r in results) == 1
    assert len(await store.agents()) == 1


async def test_an_agent_ends_only_their_own_sessions(store: Store) -> None:
    ann, bob = await new_agent(store, "Ann"), await new_agent(store, "Bob")
    bobs = await store.create_session(bob.id)
    await store.end_sessions(ann.id, bobs)
    await store.end_sessions(ann.id)
    assert await store.session(bobs) is not None


async def test_a_disabled_agents_tokens_act_for_no_one(store: Store) -> None:
    ann, admin = await new_agent(store, "Ann"), await new_agent(store, "Sue", "admin")
    token = await store.create_token(ann.id, None)
    await store.change_agent_account(ann.id, AgentChanges(
        name=None, role=None, capacity=None, disabled=True, password_hash=None), admin.id)
    assert await store.agent_by_token(token) is None


async def test_two_devices_verifying_one_identity_at_once_become_one_visitor(
        store: Store) -> None:
    (phone, phone_token), (laptop, laptop_token) = await asyncio.gather(
        store.create_visitor({}), store.create_visitor({}))
    verified = await asyncio.gather(
        store.verify_visitor(phone, phone_token, "u-1", "vera@example.com", "Vera"),
        store.verify_visitor(laptop, laptop_token, "u-1", "vera@example.com", "Vera"))
    assert len({v.id for v in verified}) == 1 and len({v.customer_id for v in verified}) == 1
    on_phone, on_laptop = [await store.visitor_by_token(t) for t in (phone_token, laptop_token)]
    assert on_phone == on_laptop and on_phone is not None and on_phone.verified


async def test_details_told_on_an_old_copy_of_a_visitor_never_overwrite_a_verified_identity(
        store: Store) -> None:
    vera, token = await store.create_visitor({"name": "Vera"})  # another socket keeps this
    await store.verify_visitor(vera, token, "u-1", "vera@example.com", "Vera Lin")
    updated = await store.update_visitor(vera, {"email": "other@example.com",
                                                "page": "/help"})
    found = await store.visitor(vera.id)
    assert found == updated and found is not None
    assert (found.email, found.name, found.page) == ("vera@example.com", "Vera Lin", "/help")


async def test_another_identity_verified_on_a_shared_browser_never_sees_the_first_ones_chats(
        store: Store) -> None:
    shared, token = await store.create_visitor({"page": "/help"})
    ann = await store.verify_visitor(shared, token, "u-1", "ann@example.com", "Ann")
    chat = await store.post_visitor_message(Author("visitor", "Ann", ann.id), "c1", "hi", 1.0)
    bob = await store.verify_visitor(ann, token, "u-2", "bob@example.com", "Bob")
    assert bob.id != ann.id and bob.customer_id != ann.customer_id
    assert (bob.name, bob.email, bob.verified, bob.page) == (
        "Bob", "bob@example.com", True, "/help")
    assert await store.visitor_by_token(token) == bob
    assert await store.current_conversation(bob.id) is None
    first_chat = await store.conversation(chat.message.conversation_id)
    assert first_chat is not None and first_chat.customer_id == ann.customer_id
    assert await store.visitor(ann.id) == ann
