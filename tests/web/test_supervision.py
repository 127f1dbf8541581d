"""So that no question disappears into the void, against a real server: follow-ups ("Ann will
get back to you by ..."), the watch that flags visitors left unanswered and follow-ups past
due, and escalations to a supervisor.

The watch looks every `WATCH_EVERY` seconds; tests that need it shorten that (it is read on
every turn of the watch) before the server starts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chatserver.service import supervision
from tests.backends import query
from tests.web.conftest import InProcessServer, Peer, agent
from tests.web.test_console_api import (
    Team,
    make_team,
    refused,
    say,
    say_as_visitor,
    served_by,
    start_chat,
)

WATCH_EVERY = 0.2
UNANSWERED_ALERT = 0.5


@pytest.fixture
def team(server: InProcessServer) -> Team:
    return make_team(server)


@pytest.fixture
def watched(serve: Callable[..., InProcessServer], monkeypatch: pytest.MonkeyPatch) -> Team:
    """A team on a server whose watch looks five times a second and flags a visitor left
    unanswered for half a second."""
    monkeypatch.setattr(supervision, "WATCH_EVERY", WATCH_EVERY)
    return make_team(serve(unanswered_alert=UNANSWERED_ALERT))


def due_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


async def ann_in_a_chat(team: Team, text: str = "Can you check my invoice?"
                        ) -> tuple[Peer, Peer, int]:
    """Ann (available) is serving a visitor who wrote in; returns Ann, the visitor and the
    conversation's id."""
    ann = await agent(team.server, team.ann.token)
    peer, conversation_id = await start_chat(team.server, text, name="Maya")
    assert await served_by(peer) == "Ann"
    await ann.expect("assigned")
    return ann, peer, conversation_id


def follow_ups(team: Team, conversation_id: int) -> int:
    [(count,)] = query(team.server.settings.database_url,
                       "SELECT COUNT(*) FROM follow_ups WHERE conversation_id = ?",
                       conversation_id)
    return int(count)  # type: ignore[call-overload]


def frames(seen: list[dict[str, Any]], kind: str, **match: Any) -> list[dict[str, Any]]:
    """The frames of `kind` whose nested object (`conversation` or `follow_up`) matches."""
    def matches(frame: dict[str, Any]) -> bool:
        inner = frame.get("conversation") or frame.get("follow_up") or {}
        return frame["type"] == kind and all(inner.get(k) == v for k, v in match.items())
    return [f for f in seen if matches(f)]


# --- follow-ups --------------------------------------------------------------------------

async def test_a_follow_up_tells_the_visitor_who_will_get_back_to_them_and_by_when(
        team: Team) -> None:
    ann, peer, conversation_id = await ann_in_a_chat(team)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1, hours=2)
    created = team.ann.post(f"/api/conversations/{conversation_id}/follow-ups",
                            {"due_at": due.isoformat(), "note": "ask billing about the VAT"})
    assert created.status_code == 201, created.text
    found = created.json()["follow_up"]
    assert found["conversation_id"] == conversation_id
    assert found["due_at"] == due.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert found["note"] == "ask billing about the VAT"
    assert found["agent"]["name"] == "Ann" and found["visitor"]["name"] == "Maya"
    assert found["done_at"] is None and found["overdue"] is False

    promise = f"Ann will get back to you by {due.strftime('%a %d %b, %H:%M')} UTC."
    told = await peer.expect("message", text=promise)
    assert told["author"]["role"] == "system" and told["conversation_id"] == conversation_id
    assert (await ann.expect("follow_up"))["follow_up"]["id"] == found["id"]

    listed = team.ann.get("/api/follow-ups").json()["follow_ups"]
    assert [(f["id"], f["overdue"]) for f in listed] == [(found["id"], False)]
    assert team.bob.get("/api/follow-ups").json()["follow_ups"] == []
    assert [f["id"] for f in team.sue.get("/api/follow-ups", all="1").json()["follow_ups"]] == [
        found["id"]]
    refused(team.ann.get("/api/follow-ups", all="1"), 403, "forbidden")


async def test_a_follow_up_due_in_the_past_or_malformed_is_refused_and_nothing_is_said(
        team: Team) -> None:
    _, peer, conversation_id = await ann_in_a_chat(team)
    path = f"/api/conversations/{conversation_id}/follow-ups"
    refused(team.ann.post(path, {"due_at": due_in(-60), "note": "too late"}), 422, "invalid")
    refused(team.ann.post(path, {"due_at": "tomorrow at noon", "note": "x"}), 422, "invalid")
    refused(team.ann.post(path, {"due_at": due_in(3600)}), 422, "invalid")
    refused(team.bob.post(path, {"due_at": due_in(3600), "note": "not mine"}), 403, "forbidden")
    assert follow_ups(team, conversation_id) == 0
    assert [f for f in await peer.quiet(0.3)
            if f["type"] == "message" and "get back to you" in f["text"]] == []


async def test_a_supervisor_following_up_a_conversation_that_does_not_exist_gets_404(
        team: Team) -> None:
    response = team.sue.post("/api/conversations/9999/follow-ups",
                             {"due_at": due_in(3600), "note": "who?"})
    refused(response, 404, "not_found")


async def test_a_follow_up_done_leaves_the_open_list_and_only_its_agent_or_a_supervisor_may(
        team: Team) -> None:
    _, _, conversation_id = await ann_in_a_chat(team)
    path = f"/api/conversations/{conversation_id}/follow-ups"
    first = team.ann.post(path, {"due_at": due_in(3600), "note": "call back"}).json()
    second = team.ann.post(path, {"due_at": due_in(7200), "note": "send the link"}).json()
    first_id, second_id = first["follow_up"]["id"], second["follow_up"]["id"]
    assert [f["id"] for f in team.ann.get("/api/follow-ups").json()["follow_ups"]] == [
        first_id, second_id]  # soonest due first

    refused(team.bob.post(f"/api/follow-ups/{first_id}/done"), 403, "forbidden")
    done = team.ann.post(f"/api/follow-ups/{first_id}/done")
    assert done.status_code == 200, done.text
    assert done.json()["follow_up"]["done_at"] is not None
    assert done.json()["follow_up"]["overdue"] is False
    assert [f["id"] for f in team.ann.get("/api/follow-ups").json()["follow_ups"]] == [second_id]
    with_done = team.ann.get("/api/follow-ups", done="1").json()["follow_ups"]
    assert {f["id"]: f["done_at"] is not None for f in with_done} == {first_id: True,
                                                                      second_id: False}

    by_supervisor = team.sue.post(f"/api/follow-ups/{second_id}/done")
    assert by_supervisor.status_code == 200 and by_supervisor.json()["follow_up"]["done_at"]
    assert team.ann.get("/api/follow-ups").json()["follow_ups"] == []
    refused(team.ann.post("/api/follow-ups/9999/done"), 404, "not_found")


async def test_a_follow_up_past_its_time_is_overdue_and_the_watch_tells_the_agents_once(
        watched: Team) -> None:
    team = watched
    ann, _, conversation_id = await ann_in_a_chat(team)
    await say(ann, conversation_id, "Let me ask billing.")  # no unanswered alert meanwhile
    sue = await agent(team.server, team.sue.token, available=False)
    created = team.ann.post(f"/api/conversations/{conversation_id}/follow-ups",
                            {"due_at": due_in(1.0), "note": "billing answer"})
    assert created.status_code == 201, created.text
    follow_up_id = created.json()["follow_up"]["id"]
    [listed] = team.ann.get("/api/follow-ups").json()["follow_ups"]
    assert listed["id"] == follow_up_id and listed["overdue"] is False

    deadline = time.monotonic() + 5
    while not team.ann.get("/api/follow-ups").json()["follow_ups"][0]["overdue"]:
        assert time.monotonic() < deadline, "the follow-up never became overdue"
        await asyncio.sleep(0.1)
    for staff in (ann, sue):
        seen = await staff.quiet(4 * WATCH_EVERY)
        overdue = frames(seen, "follow_up", id=follow_up_id, overdue=True)
        assert len(overdue) == 1, seen
        assert overdue[0]["follow_up"]["note"] == "billing answer"
    for staff in (ann, sue):  # not repeated on later looks
        assert frames(await staff.quiet(3 * WATCH_EVERY), "follow_up", overdue=True) == []

    team.ann.post(f"/api/follow-ups/{follow_up_id}/done")
    [done] = team.ann.get("/api/follow-ups", done="1").json()["follow_ups"]
    assert done["overdue"] is False and done["done_at"] is not None


# --- visitors left unanswered ------------------------------------------------------------

async def test_a_visitor_left_unanswered_is_flagged_once_to_the_agents_and_not_once_answered(
        watched: Team) -> None:
    team = watched
    sue = await agent(team.server, team.sue.token, available=False)
    ann, left, waiting = await ann_in_a_chat(team, "Hello? Is anyone there?")
    quick_peer, answered = await start_chat(team.server, "Quick question")
    assert await served_by(quick_peer) == "Ann"
    await say(ann, answered, "Sure, ask away!")  # answered well within the alert

    seen = {"ann": await ann.quiet(UNANSWERED_ALERT + 5 * WATCH_EVERY),
            "sue": await sue.quiet(2 * WATCH_EVERY)}
    for name, got in seen.items():
        flagged = frames(got, "unanswered", id=waiting)
        assert len(flagged) == 1, (name, got)
        row = flagged[0]["conversation"]
        assert row["unanswered_since"] is not None and row["agent"]["name"] == "Ann"
        assert row["last_message"] == "Hello? Is anyone there?"
        assert frames(got, "unanswered", id=answered) == []

    await say(ann, waiting, "Sorry for the wait!")
    for staff in (ann, sue):
        assert frames(await staff.quiet(UNANSWERED_ALERT + 3 * WATCH_EVERY), "unanswered") == []

    await say_as_visitor(left, "One more thing...")  # waiting again: flagged again
    again = await ann.quiet(UNANSWERED_ALERT + 4 * WATCH_EVERY)
    assert len(frames(again, "unanswered", id=waiting)) == 1, again


# --- escalation --------------------------------------------------------------------------

async def test_the_assigned_agent_escalates_and_the_visitor_and_the_supervisors_are_told(
        team: Team) -> None:
    ann, peer, conversation_id = await ann_in_a_chat(team)
    sue = await agent(team.server, team.sue.token, available=False)
    ada = await agent(team.server, team.ada.token, available=False)
    await ann.send("escalate", conversation_id=conversation_id, note="Wants a manager")

    told = await peer.expect("message", text="Ann asked a supervisor to join the chat.")
    assert told["author"]["role"] == "system"
    for staff in (sue, ada, ann):  # the supervisors, the admins, and who asked
        escalation = await staff.expect("escalation", conversation_id=conversation_id)
        assert escalation["note"] == "Wants a manager"
        assert escalation["by"]["name"] == "Ann"
        assert escalation["visitor"]["name"] == "Maya"
        assert [f for f in await staff.quiet(0.1) if f["type"] == "escalation"] == []  # once
    [row] = team.sue.listed("open")
    assert row["escalated_at"] is not None and row["escalation_note"] == "Wants a manager"


async def test_a_closed_or_unknown_chat_cannot_be_escalated_noted_or_synced(
        team: Team) -> None:
    ann, peer, conversation_id = await ann_in_a_chat(team)
    await ann.send("close", conversation_id=conversation_id)
    await peer.expect("status", status="closed")
    sue = await agent(team.server, team.sue.token, available=False)
    await sue.send("escalate", conversation_id=conversation_id, note="too late")
    assert (await sue.expect("error"))["code"] == "not_found"
    assert [f for f in await peer.quiet(0.3) if "supervisor" in f.get("text", "")] == []
    for frame in ({"type": "escalate"}, {"type": "message", "client_id": "n", "text": "note",
                                         "private": True}, {"type": "sync", "last_seq": 0}):
        await sue.send(conversation_id=999999, **frame)  # type: ignore[arg-type]
        error = await sue.expect("error")
        assert error["code"] == "not_found" and "closed" not in error["message"], frame


async def test_an_agent_not_assigned_cannot_escalate_someone_elses_chat(team: Team) -> None:
    _, peer, conversation_id = await ann_in_a_chat(team)
    bob = await agent(team.server, team.bob.token, available=False)
    await bob.send("escalate", conversation_id=conversation_id, note="not mine")
    assert (await bob.expect("error"))["code"] == "forbidden"
    await bob.send("escalate", note="which one?")
    assert (await bob.expect("error"))["code"] == "bad_request"
    assert [f for f in await peer.quiet(0.3) if "supervisor" in f.get("text", "")] == []
    assert [f for f in await bob.quiet(0) if f["type"] == "escalation"] == []
    [row] = team.sue.listed("open")
    assert row["escalated_at"] is None


async def test_a_supervisor_escalating_a_conversation_that_does_not_exist_gets_an_error(
        team: Team) -> None:
    sue = await agent(team.server, team.sue.token, available=False)
    await sue.send("escalate", conversation_id=9999, note="who?")
    assert (await sue.expect("error"))["code"] == "not_found"
    await sue.send("ping")
    await sue.expect("pong")  # the socket stays open
