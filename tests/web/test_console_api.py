"""The console's REST API against a real server: inbox views and search, canned responses,
reports, and what an admin manages (agents, API tokens, allowed widget origins).

Assertions are what an agent or an admin would notice: status codes, the `{"error": {...}}`
shape, which conversations a list shows, and what happens on the sockets at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import websockets

from tests.backends import query
from tests.web.conftest import InProcessServer, Peer, agent, visitor


def staff(server: InProcessServer, *people: tuple[str, str, str]) -> list[str]:
    return server.staff(*people)


@dataclass
class Api:
    """One caller of the REST API."""

    server: InProcessServer
    token: str

    def call(self, method: str, path: str, body: Any = None, **params: str) -> httpx.Response:
        return httpx.request(method, self.server.url + path, json=body, params=params,
                             headers={"Authorization": f"Bearer {self.token}"}, timeout=10)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.call("GET", path, **params)

    def post(self, path: str, body: Any = None) -> httpx.Response:
        return self.call("POST", path, body)

    def listed(self, view: str, **params: str) -> list[dict[str, Any]]:
        """The conversations of an inbox view, as the console shows them."""
        response = self.get("/api/conversations", view=view, **params)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["conversations"]
        return found

    def ids(self, view: str, **params: str) -> list[int]:
        return [c["id"] for c in self.listed(view, **params)]


@dataclass
class Team:
    """A server with two agents (Ann, Bob), a supervisor (Sue) and an admin (Ada)."""

    server: InProcessServer
    ann: Api
    bob: Api
    sue: Api
    ada: Api

    def agent_id(self, email: str) -> int:
        [found] = [a["id"] for a in self.ada.get("/api/agents").json()["agents"]
                   if a["email"] == email]
        return int(found)


def make_team(server: InProcessServer) -> Team:
    ann, bob, sue, ada = staff(server, ("ann@example.com", "Ann", "agent"),
                               ("bob@example.com", "Bob", "agent"),
                               ("sue@example.com", "Sue", "supervisor"),
                               ("ada@example.com", "Ada", "admin"))
    return Team(server, Api(server, ann), Api(server, bob), Api(server, sue), Api(server, ada))


@pytest.fixture
def team(server: InProcessServer) -> Team:
    return make_team(server)


def refused(response: httpx.Response, status: int, code: str | None = None) -> None:
    """The response is the contract's error shape with this status (and code)."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code


async def start_chat(server: InProcessServer, text: str, **hello: Any) -> tuple[Peer, int]:
    """A visitor writes in; returns their socket and the conversation's id."""
    peer, _ = await visitor(server, **hello)
    await peer.send("message", client_id="first", text=text)
    return peer, (await peer.expect("ack", client_id="first"))["conversation_id"]


async def served_by(peer: Peer) -> str:
    """The name of the agent the visitor is told joined the chat."""
    name: str = (await peer.expect("status", status="active"))["agent"]["name"]
    return name


async def say(staff_peer: Peer, conversation_id: int, text: str, private: bool = False) -> None:
    client_id = uuid.uuid4().hex
    await staff_peer.send("message", conversation_id=conversation_id, client_id=client_id,
                          text=text, private=private)
    await staff_peer.expect("ack", client_id=client_id)


async def say_as_visitor(peer: Peer, text: str) -> None:
    client_id = uuid.uuid4().hex
    await peer.send("message", client_id=client_id, text=text)
    await peer.expect("ack", client_id=client_id)


async def close(staff_peer: Peer, conversation_id: int) -> None:
    await staff_peer.send("close", conversation_id=conversation_id)
    await staff_peer.expect("unassigned", conversation_id=conversation_id, reason="closed")


def first_visitor_message_at(server: InProcessServer, conversation_id: int) -> str:
    [(at,)] = query(server.settings.database_url, "SELECT created_at FROM messages WHERE "
                    "conversation_id = ? AND seq = 1", conversation_id)
    return str(at)


# --- inbox views -------------------------------------------------------------------------

async def test_mine_lists_only_the_callers_active_chats_with_visitor_agent_and_last_message(
        team: Team) -> None:
    server = team.server
    ann = await agent(server, team.ann.token)
    bob = await agent(server, team.bob.token)
    maya, c1 = await start_chat(server, "Where is my parcel?", name="Maya",
                                email="maya@example.com")
    first = await served_by(maya)
    leo, c2 = await start_chat(server, "Can I change my plan?", name="Leo")
    second = await served_by(leo)
    assert {first, second} == {"Ann", "Bob"}  # the least loaded agent gets the next chat
    ann_chat, bob_chat = (c1, c2) if first == "Ann" else (c2, c1)

    [row] = team.ann.listed("mine")
    assert row["id"] == ann_chat and row["status"] == "active"
    assert row["agent"] == {"id": team.agent_id("ann@example.com"), "name": "Ann"}
    assert row["visitor"]["name"] == ("Maya" if ann_chat == c1 else "Leo")
    # what was last said, not the system's "Ann joined the chat."
    assert row["last_message"] == ("Where is my parcel?" if ann_chat == c1
                                   else "Can I change my plan?")
    assert team.bob.ids("mine") == [bob_chat]
    assert team.sue.ids("mine") == []  # a supervisor's own chats: none
    await ann.close()
    await bob.close()


async def test_unanswered_since_is_set_until_an_agent_replies_and_a_note_is_no_answer(
        team: Team) -> None:
    server = team.server
    ann = await agent(server, team.ann.token)
    peer, conversation_id = await start_chat(server, "Hello? Anyone there?")
    await served_by(peer)
    [row] = team.ann.listed("mine")
    assert row["unanswered_since"] == first_visitor_message_at(server, conversation_id)

    await say(ann, conversation_id, "Check the courier first", private=True)
    [row] = team.ann.listed("mine")
    assert row["unanswered_since"] is not None  # a private note does not answer the visitor
    assert row["last_message"] == "Hello? Anyone there?"  # notes are not the last message

    await say(ann, conversation_id, "Hi! I'm here, let me look.")
    [row] = team.ann.listed("mine")
    assert row["unanswered_since"] is None
    assert row["last_message"] == "Hi! I'm here, let me look."

    await say_as_visitor(peer, "Thanks, any news?")
    [row] = team.ann.listed("mine")
    [(latest,)] = query(server.settings.database_url, "SELECT MAX(created_at) FROM messages "
                        "WHERE conversation_id = ? AND author_role = 'visitor'", conversation_id)
    assert row["unanswered_since"] == latest and row["last_message"] == "Thanks, any news?"


async def test_queued_lists_the_waiting_chats_in_queue_order(team: Team) -> None:
    waiting = [(await start_chat(team.server, f"question {n}"))[1] for n in range(3)]
    for caller in (team.ann, team.sue):
        rows = caller.listed("queued")
        assert [r["id"] for r in rows] == waiting
        assert all(r["status"] == "queued" and r["agent"] is None for r in rows)
        assert [r["last_message"] for r in rows] == [f"question {n}" for n in range(3)]


async def test_open_view_is_for_supervisors_not_agents(team: Team) -> None:
    ann = await agent(team.server, team.ann.token)
    _, active = await start_chat(team.server, "first")
    await ann.expect("assigned")
    await ann.send("presence", status="away")
    await ann.send("ping")
    await ann.expect("pong")
    _, queued = await start_chat(team.server, "second")
    refused(team.ann.get("/api/conversations", view="open"), 403, "forbidden")
    assert sorted(team.sue.ids("open")) == [active, queued]
    assert sorted(team.ada.ids("open")) == [active, queued]
    refused(team.ann.get("/api/conversations", view="everything"), 422)


async def test_closed_shows_an_agent_only_their_chats_and_a_supervisor_all(team: Team) -> None:
    server = team.server
    ann = await agent(server, team.ann.token)
    ann_visitor, ann_chat = await start_chat(server, "Ann's question")
    await served_by(ann_visitor)
    await ann.send("presence", status="away")
    bob = await agent(server, team.bob.token)
    bob_visitor, bob_chat = await start_chat(server, "Bob's question")
    assert await served_by(bob_visitor) == "Bob"
    await close(ann, ann_chat)
    await close(bob, bob_chat)

    assert team.ann.ids("closed") == [ann_chat]
    assert team.bob.ids("closed") == [bob_chat]
    assert team.sue.ids("closed") == [bob_chat, ann_chat]  # the latest closed first
    assert all(r["unanswered_since"] is None and r["closed_at"]
               for r in team.sue.listed("closed"))
    assert sorted(team.ann.ids("all")) == [ann_chat]


def test_the_inbox_needs_a_valid_token(team: Team) -> None:
    refused(httpx.get(team.server.url + "/api/conversations"), 401)
    refused(Api(team.server, "cs_not-a-token").get("/api/conversations"), 401)
    refused(team.ann.get("/api/conversations", limit="many"), 422)


# --- search ------------------------------------------------------------------------------

async def test_search_finds_transcripts_with_a_word_or_its_longer_forms(team: Team) -> None:
    _, asked = await start_chat(team.server, "I want a REFUND for the course")
    _, done = await start_chat(team.server, "Was my order refunded yet?")
    _, other = await start_chat(team.server, "Where is my parcel?")
    assert team.sue.ids("open", q="refund") == [asked, done]
    assert team.sue.ids("open", q="parcel") == [other]
    assert team.sue.ids("open", q="refunds") == []  # a prefix of words, not a stem
    assert team.sue.ids("open", q="invoice") == []
    assert team.ann.ids("queued", q="  refund!  ") == [asked, done]


async def test_search_for_several_words_needs_every_one(team: Team) -> None:
    _, both = await start_chat(team.server, "The delivery was late again")
    _, one = await start_chat(team.server, "delivery address change")
    await start_chat(team.server, "late fee question")
    assert team.sue.ids("open", q="late delivery") == [both]
    assert team.sue.ids("open", q="delivery") == [both, one]


async def test_a_supervisor_searching_all_conversations_gets_only_the_matches(
        team: Team) -> None:
    _, asked = await start_chat(team.server, "I want a refund")
    await start_chat(team.server, "Where is my parcel?")
    assert team.sue.ids("all", q="refund") == [asked]
    assert team.ada.ids("all", q="refund") == [asked]


async def test_search_matches_words_said_in_different_messages_of_one_transcript(
        team: Team) -> None:
    """A transcript is the whole conversation: "late delivery" finds a chat where the
    visitor wrote "late" in one message and "delivery" in the next."""
    peer, conversation_id = await start_chat(team.server, "My parcel is late")
    await say_as_visitor(peer, "The delivery was promised for Monday")
    assert team.sue.ids("open", q="late delivery") == [conversation_id]


async def test_a_search_result_shows_the_words_that_matched_in_their_context(
        team: Team) -> None:
    peer, found = await start_chat(team.server, "Good morning! I ordered a blue jumper two "
                                   "weeks ago and my parcel still has not arrived, sadly.")
    await say_as_visitor(peer, "Hello? Anyone there?")
    _, other = await start_chat(team.server, "Where is my parcel?")
    first, second = team.sue.listed("open", q="parcel")
    assert (first["id"], second["id"]) == (found, other)
    assert first["snippet"] == "…jumper two weeks ago and my parcel still has not arrived, sadly."
    assert first["last_message"] == "Hello? Anyone there?"  # as before, for the other views
    assert second["snippet"] == "Where is my parcel?"
    assert "snippet" not in team.sue.listed("open")[0]  # no search, no snippet


def test_a_search_without_any_word_is_refused(team: Team) -> None:
    refused(team.ann.get("/api/conversations", view="mine", q="?!*\"()"), 422, "invalid")
    assert team.ann.ids("mine", q="") == []  # an empty q is no search at all


async def test_a_search_of_a_whole_page_of_words_is_refused_with_the_limits(
        team: Team) -> None:
    """1,500 words once made SQLite refuse the query (too deep) and the agent got a 500."""
    _, asked = await start_chat(team.server, "I want a refund for the course")
    page = " ".join(f"word{n}" for n in range(1500))
    too_many = team.sue.get("/api/conversations", view="open", q=page)
    refused(too_many, 422, "invalid")
    assert "at most 200 characters" in too_many.json()["error"]["message"]
    eleven = team.sue.get("/api/conversations", view="open", q="a b c d e f g h i j k")
    refused(eleven, 422, "invalid")
    assert "at most 10 words" in eleven.json()["error"]["message"]
    assert team.sue.ids("open", q="I want a refund for the course please now ok") == []
    assert team.sue.ids("open", q="want refund for the course") == [asked]


async def test_an_agent_searching_finds_their_private_notes_but_not_other_agents_chats(
        team: Team) -> None:
    """What the code does: private notes are in the search index, so an agent (and a
    supervisor) finds a chat by what a note says; the visitor never sees notes anyway."""
    server = team.server
    ann = await agent(server, team.ann.token)
    peer, mine = await start_chat(server, "I buy in bulk")
    await served_by(peer)
    await say(ann, mine, "VIP reseller, offer the wholesale plan", private=True)
    await ann.send("presence", status="away")  # the next chat waits in the queue
    await ann.send("ping")
    await ann.expect("pong")
    _, queued = await start_chat(server, "reseller question")
    assert team.ann.ids("mine", q="wholesale") == [mine]
    assert team.ann.ids("all", q="reseller") == [mine]  # not the queued chat: not hers
    assert team.sue.ids("open", q="reseller") == [mine, queued]


# --- canned responses --------------------------------------------------------------------

def test_an_admin_adds_canned_responses_and_agents_use_them(team: Team) -> None:
    text = "Refunds within 30 days, no questions asked."
    added = team.ada.post("/api/canned", {"shortcut": "/Refund-Policy", "text": text})
    assert added.status_code == 201, added.text
    canned = added.json()["canned"]
    assert canned["shortcut"] == "refund-policy" and canned["text"] == text
    listed = team.ann.get("/api/canned")
    assert listed.status_code == 200
    assert listed.json()["canned"] == [{"id": canned["id"], "shortcut": "refund-policy",
                                        "text": text}]

    refused(team.ada.post("/api/canned", {"shortcut": "refund-policy", "text": "again"}),
            409, "conflict")
    for bad in ("refund policy", "/", "re/fund", "", "x" * 41):
        refused(team.ada.post("/api/canned", {"shortcut": bad, "text": "t"}), 422)
    refused(team.ada.post("/api/canned", {"shortcut": "hello"}), 422)
    refused(team.ann.post("/api/canned", {"shortcut": "mine", "text": "t"}), 403, "forbidden")
    refused(team.sue.post("/api/canned", {"shortcut": "mine", "text": "t"}), 403, "forbidden")
    refused(team.ann.call("DELETE", f"/api/canned/{canned['id']}"), 403)

    assert team.ada.call("DELETE", f"/api/canned/{canned['id']}").status_code == 204
    assert team.ann.get("/api/canned").json()["canned"] == []
    refused(team.ada.call("DELETE", f"/api/canned/{canned['id']}"), 404, "not_found")


# --- reports -----------------------------------------------------------------------------

async def test_a_supervisor_sees_each_days_figures_over_a_range(team: Team) -> None:
    server = team.server
    ann = await agent(server, team.ann.token)
    answered, c1 = await start_chat(server, "Question one")
    await served_by(answered)
    await say(ann, c1, "Here is the answer")
    await close(ann, c1)
    await answered.expect("status", status="closed")
    await answered.send("rate", score=4, comment="quick and kind")
    await answered.expect("rated", conversation_id=c1, score=4)
    missed, c2 = await start_chat(server, "Question two")
    await served_by(missed)
    await say(ann, c2, "Spam, closing", private=True)  # a note is no answer to the visitor
    await close(ann, c2)  # closed without a word to the visitor: missed
    still_open, c3 = await start_chat(server, "Question three")
    await served_by(still_open)

    order = team.ada.post("/api/orders", {"external_id": "R-1", "email": "maya@example.com",
                                          "product": "Course", "amount_cents": 5000,
                                          "currency": "USD"}).json()["order"]
    for path, body in ((f"/api/orders/{order['id']}/refunds",
                        {"amount_cents": 1500, "reason": "broken"}),
                       (f"/api/customers/{order['customer_id']}/credits",
                        {"amount_cents": 500, "currency": "USD", "reason": "sorry"})):
        done = httpx.post(server.url + path, json=body, timeout=10, headers={
            "Authorization": f"Bearer {team.ada.token}", "Idempotency-Key": path})
        assert done.status_code == 201, done.text

    # the chats' day by the server's clock: a run that crosses midnight still finds them
    [(started,)] = query(server.settings.database_url,
                         "SELECT min(created_at) FROM conversations")
    today = date.fromisoformat(str(started)[:10])
    first = today - timedelta(days=2)
    response = team.sue.get("/api/reports", **{"from": first.isoformat(),
                                                "to": today.isoformat()})
    assert response.status_code == 200, response.text
    report = response.json()["report"]
    assert report["from"] == first.isoformat() and report["to"] == today.isoformat()
    assert [d["day"] for d in report["days"]] == [(first + timedelta(days=n)).isoformat()
                                                  for n in range(3)]
    quiet = report["days"][0]  # nothing happened two days ago: there, with zeros
    assert quiet["chats"] == 0 and quiet["missed"] == 0 and quiet["chats_per_agent"] == {}
    assert quiet["first_response_seconds"] == {"median": None, "p90": None, "count": 0}
    assert quiet["satisfaction"] == {"average": None, "ratings": 0, "comments": []}
    assert quiet["refunds"] == {"count": 0, "cents": {}}

    total = report["total"]
    assert sum(d["chats"] for d in report["days"]) == total["chats"] == 3
    assert total["first_response_seconds"]["count"] == 1
    assert 0 <= total["first_response_seconds"]["median"] < 30
    assert total["first_response_seconds"]["median"] == total["first_response_seconds"]["p90"]
    assert total["waiting_seconds"]["count"] == 3  # all three were assigned
    assert total["resolution_seconds"]["count"] == 2  # two were closed
    assert total["missed"] == 1
    assert total["chats_per_agent"] == {"Ann": 1}  # she answered one; a note is no answer
    assert total["satisfaction"] == {"average": 4.0, "ratings": 1, "comments": [
        {"conversation_id": c1, "score": 4, "comment": "quick and kind"}]}
    assert total["refunds"] == {"count": 1, "cents": {"USD": 1500}}
    assert total["credits"] == {"count": 1, "cents": {"USD": 500}}
    assert c3 not in [c["conversation_id"] for c in total["satisfaction"]["comments"]]


def test_reports_are_for_supervisors_and_need_real_dates(team: Team) -> None:
    refused(team.ann.get("/api/reports"), 403, "forbidden")
    default = team.ada.get("/api/reports")
    assert default.status_code == 200 and len(default.json()["report"]["days"]) == 7
    for params in ({"from": "2026-02-30"}, {"to": "yesterday"}, {"from": "01/02/2026"},
                   {"from": "2026-03-02", "to": "2026-03-01"},
                   {"from": "2024-01-01", "to": "2026-01-01"}):
        refused(team.sue.get("/api/reports", **params), 422, "invalid")


# --- agents (admin) ----------------------------------------------------------------------

def sign_in(server: InProcessServer, email: str, password: str) -> str | None:
    return server.sign_in(email, password)


def test_an_admin_adds_an_agent_who_can_sign_in_at_once(team: Team) -> None:
    listed = team.ann.get("/api/agents")
    assert listed.status_code == 200
    assert [a["name"] for a in listed.json()["agents"]] == ["Ada", "Ann", "Bob", "Sue"]
    assert {a["email"]: a["role"] for a in listed.json()["agents"]}["sue@example.com"] == (
        "supervisor")
    assert not any("password_hash" in a for a in listed.json()["agents"])

    added = team.ada.post("/api/agents", {"email": "nia@example.com", "name": "Nia",
                                          "role": "supervisor", "capacity": 5,
                                          "password": "long-enough-secret"})
    assert added.status_code == 201, added.text
    nia = added.json()["agent"]
    assert (nia["name"], nia["role"], nia["capacity"], nia["disabled"]) == (
        "Nia", "supervisor", 5, False)
    assert sign_in(team.server, "nia@example.com", "long-enough-secret")
    assert sign_in(team.server, "nia@example.com", "wrong-password") is None

    token = team.ada.post("/api/tokens", {"agent_id": nia["id"]}).json()["token"]["token"]
    assert Api(team.server, token).get("/api/reports").status_code == 200  # a supervisor

    refused(team.ada.post("/api/agents", {"email": "NIA@example.com", "name": "Nia 2"}),
            409, "conflict")
    refused(team.ada.post("/api/agents", {"email": "not-an-email", "name": "X"}), 422)
    refused(team.ada.post("/api/agents", {"email": "x@example.com", "name": "X",
                                          "role": "owner"}), 422)
    refused(team.ada.post("/api/agents", {"email": "x@example.com", "name": "X",
                                          "password": "short"}), 422)
    refused(team.sue.post("/api/agents", {"email": "x@example.com", "name": "X"}), 403)
    refused(team.ann.call("PATCH", f"/api/agents/{nia['id']}", {"capacity": 1}), 403)
    refused(team.ada.call("PATCH", "/api/agents/9999", {"capacity": 1}), 404)


async def test_a_higher_capacity_counts_at_once_for_routing(team: Team) -> None:
    ann_id = team.agent_id("ann@example.com")
    changed = team.ada.call("PATCH", f"/api/agents/{ann_id}", {"capacity": 1})
    assert changed.status_code == 200 and changed.json()["agent"]["capacity"] == 1
    ann = await agent(team.server, team.ann.token)
    first, _ = await start_chat(team.server, "first")
    assert await served_by(first) == "Ann"
    second, waiting = await start_chat(team.server, "second")
    assert (await second.expect("status", status="queued"))["queue_position"] == 1

    changed = team.ada.call("PATCH", f"/api/agents/{ann_id}", {"capacity": 2})
    assert changed.status_code == 200 and changed.json()["agent"]["capacity"] == 2
    assert await served_by(second) == "Ann"
    while (await ann.expect("assigned"))["conversation"]["id"] != waiting:
        pass
    assert team.ann.ids("queued") == []


async def test_disabling_an_agent_closes_their_sockets_and_requeues_their_chats(
        team: Team) -> None:
    server = team.server
    ann_id = team.agent_id("ann@example.com")
    ann = await agent(server, team.ann.token)
    peer, conversation_id = await start_chat(server, "help me")
    assert await served_by(peer) == "Ann"
    bob = await agent(server, team.bob.token)

    changed = team.ada.call("PATCH", f"/api/agents/{ann_id}", {"disabled": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["agent"]["disabled"] is True
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await ann.ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    assert await served_by(peer) == "Bob"
    while (await bob.expect("assigned"))["conversation"]["id"] != conversation_id:
        pass
    refused(team.ann.get("/api/conversations"), 401)
    with pytest.raises(websockets.InvalidStatus) as refused_socket:
        await websockets.connect(server.ws + "/ws/agent", additional_headers={
            "Authorization": f"Bearer {team.ann.token}"})
    assert refused_socket.value.response.status_code == 401
    team_frame = await bob.expect("team")
    while any(a["name"] == "Ann" for a in team_frame["agents"]):
        team_frame = await bob.expect("team")  # a disabled agent takes no transfers


def test_an_admin_cannot_disable_or_demote_themselves(team: Team) -> None:
    ada_id = team.agent_id("ada@example.com")
    refused(team.ada.call("PATCH", f"/api/agents/{ada_id}", {"disabled": True}), 409, "conflict")
    refused(team.ada.call("PATCH", f"/api/agents/{ada_id}", {"role": "agent"}), 409, "conflict")
    assert team.ada.get("/api/agents").status_code == 200  # still an admin, still signed in
    renamed = team.ada.call("PATCH", f"/api/agents/{ada_id}", {"name": "Ada L."})
    assert renamed.status_code == 200 and renamed.json()["agent"]["name"] == "Ada L."


# --- API tokens --------------------------------------------------------------------------

def test_an_agent_creates_lists_and_revokes_their_own_tokens(team: Team) -> None:
    created = team.ann.post("/api/tokens", {"label": "zapier"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token["label"] == "zapier" and len(token["token"]) >= 22
    zapier = Api(team.server, token["token"])
    assert zapier.get("/api/conversations").status_code == 200  # works at once

    listed = team.ann.get("/api/tokens").json()["tokens"]
    ann_id = team.agent_id("ann@example.com")
    assert {t["agent_id"] for t in listed} == {ann_id}
    assert token["id"] in [t["id"] for t in listed]
    assert token["token"] not in created.request.url.query.decode() + str(listed)
    assert not any("token" in t or "token_hash" in t for t in listed)
    bob_tokens = team.bob.get("/api/tokens").json()["tokens"]
    assert token["id"] not in [t["id"] for t in bob_tokens]

    refused(team.bob.call("DELETE", f"/api/tokens/{token['id']}"), 404)  # not his to revoke
    assert zapier.get("/api/conversations").status_code == 200
    assert team.ann.call("DELETE", f"/api/tokens/{token['id']}").status_code == 204
    refused(zapier.get("/api/conversations"), 401, "unauthorized")
    [revoked] = [t for t in team.ann.get("/api/tokens").json()["tokens"]
                 if t["id"] == token["id"]]
    assert revoked["revoked_at"] is not None


def test_only_an_admin_creates_a_token_for_someone_else(team: Team) -> None:
    bob_id = team.agent_id("bob@example.com")
    refused(team.ann.post("/api/tokens", {"agent_id": bob_id}), 403, "forbidden")
    refused(team.sue.post("/api/tokens", {"agent_id": bob_id}), 403, "forbidden")
    made = team.ada.post("/api/tokens", {"agent_id": bob_id, "label": "for bob"})
    assert made.status_code == 201 and made.json()["token"]["agent_id"] == bob_id
    as_bob = Api(team.server, made.json()["token"]["token"])
    assert as_bob.get("/api/conversations", view="open").status_code == 403  # an agent's token
    assert made.json()["token"]["id"] in [t["id"] for t in team.bob.get("/api/tokens").json()[
        "tokens"]]
    refused(team.ada.post("/api/tokens", {"agent_id": 9999}), 404)
    everyone = {t["agent_id"] for t in team.ada.get("/api/tokens").json()["tokens"]}
    assert bob_id in everyone and team.agent_id("ann@example.com") in everyone


# --- allowed origins ---------------------------------------------------------------------

async def visitor_socket_status(server: InProcessServer, origin: str) -> int:
    """101 when a visitor socket from this page's origin is accepted, else the HTTP status."""
    try:
        ws = await websockets.connect(server.ws + "/ws/visitor",
                                      additional_headers={"Origin": origin})
    except websockets.InvalidStatus as error:
        return int(error.response.status_code)
    await ws.close()
    return 101


async def test_an_admin_allows_a_widget_origin_and_it_counts_at_once(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(allowed_origins=None)
    team = make_team(server)
    assert await visitor_socket_status(server, "https://shop.example") == 403
    assert await visitor_socket_status(server, server.url) == 101  # its own origin

    put = team.ada.call("PUT", "/api/allowed-origins", {"origins": ["https://Shop.example/"]})
    assert put.status_code == 200, put.text
    assert put.json() == {"origins": ["https://shop.example"], "from_environment": []}
    assert await visitor_socket_status(server, "https://shop.example") == 101
    assert await visitor_socket_status(server, "https://evil.example") == 403
    assert team.ann.get("/api/allowed-origins").json()["origins"] == ["https://shop.example"]

    for bad in (["https://shop.example/checkout"], ["ftp://shop.example"], ["shop.example"],
                "https://shop.example", [42]):
        refused(team.ada.call("PUT", "/api/allowed-origins", {"origins": bad}), 422, "invalid")
    refused(team.ann.call("PUT", "/api/allowed-origins", {"origins": []}), 403, "forbidden")
    refused(team.sue.call("PUT", "/api/allowed-origins", {"origins": []}), 403, "forbidden")
    assert await visitor_socket_status(server, "https://shop.example") == 101  # unchanged

    server.stop()  # the admin's list is kept: it still holds after a restart
    restarted = serve(allowed_origins=None)
    assert await visitor_socket_status(restarted, "https://shop.example") == 101
    assert await visitor_socket_status(restarted, "https://evil.example") == 403

    admin = Api(restarted, team.ada.token)
    cleared = admin.call("PUT", "/api/allowed-origins", {"origins": []})
    assert cleared.status_code == 200 and cleared.json()["origins"] == []
    assert await visitor_socket_status(restarted, "https://shop.example") == 403

