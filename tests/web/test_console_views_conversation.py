"""The conversation pane's server-rendered parts against a real server: the follow-up and
escalation sheets post here (as htmx does, with the session's CSRF header) and get their
fields back, emptied when done or as sent with the reason in place."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from chatserver.domain import clock
from tests.web.conftest import InProcessServer, Peer, agent
from tests.web.test_console_api import served_by, start_chat

PASSWORD = "pa55word-for-tests"
MARKUP = "<img src=x onerror=alert(1)>"


@dataclass
class Console:
    """An agent signed in to the console: their session, as the page's htmx sends it."""

    server: InProcessServer
    cookie: str
    csrf: str

    def post(self, path: str, **form: str) -> httpx.Response:
        return httpx.post(self.server.url + path, data=form, timeout=10,
                          cookies={"chatserver_session": self.cookie},
                          headers={"X-CSRF-Token": self.csrf, "HX-Request": "true"})


def signed_in(server: InProcessServer, email: str) -> Console:
    cookie = server.sign_in(email, PASSWORD)
    assert cookie is not None
    page = httpx.get(server.url + "/console", cookies={"chatserver_session": cookie})
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert csrf is not None
    return Console(server, cookie, csrf.group(1))


@pytest.fixture
def tokens(server: InProcessServer) -> list[str]:
    return server.staff(("ann@example.com", "Ann", "agent"), ("bob@example.com", "Bob", "agent"),
                        ("sue@example.com", "Sue", "supervisor"), password=PASSWORD)


async def chat_with_ann(server: InProcessServer, ann_token: str) -> tuple[Peer, Peer, int]:
    """Ann (available) serves Maya, who wrote in: Ann's socket, Maya's, the chat's id."""
    ann = await agent(server, ann_token)
    maya, conversation_id = await start_chat(server, "Was I charged twice?", name="Maya")
    assert await served_by(maya) == "Ann"
    await ann.expect("assigned")
    return ann, maya, conversation_id


async def told(visitor: Peer, words: str) -> str:
    """The system message the visitor is told with these words in it."""
    while True:
        frame = await visitor.expect("message")
        if frame["author"]["role"] == "system" and words in frame["text"]:
            text: str = frame["text"]
            return text


def local(moment: datetime) -> str:
    """A datetime-local input's value (the browser's offset is sent beside it)."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def error_of(response: httpx.Response) -> str:
    found = re.search(r'role="alert">([^<]*)</p>', response.text)
    assert found is not None, response.text
    return found.group(1)


def triggered(response: httpx.Response) -> dict[str, object]:
    fired: dict[str, object] = json.loads(response.headers["HX-Trigger"])
    return fired


async def test_a_follow_up_is_set_and_the_visitor_told(
        server: InProcessServer, tokens: list[str]) -> None:
    _, maya, conversation_id = await chat_with_ann(server, tokens[0])
    due = datetime.now(UTC) + timedelta(hours=2)
    answer = signed_in(server, "ann@example.com").post(
        "/console/parts/conversation/follow-up", conversation_id=str(conversation_id),
        due=local(due), offset="0", note="Ask billing")
    assert answer.status_code == 200, answer.text
    fired = triggered(answer)
    assert "console:sheet-done" in fired
    assert fired["console:changed"] == {"conversationId": conversation_id}  # the header shows it
    assert fired["console:alert"] == {
        "text": f"Follow-up set: answer by {due.day} {due:%b, %H:%M}. The visitor was told."}
    assert 'value=""' in answer.text and "role=\"alert\"" not in answer.text  # emptied
    assert (await told(maya, "get back")).startswith("Ann will get back to you by ")


async def test_a_follow_up_in_the_past_or_without_a_note_is_refused_in_place(
        server: InProcessServer, tokens: list[str]) -> None:
    _, _, conversation_id = await chat_with_ann(server, tokens[0])
    ann = signed_in(server, "ann@example.com")
    past = local(datetime.now(UTC) - timedelta(hours=1))
    answer = ann.post("/console/parts/conversation/follow-up",
                      conversation_id=str(conversation_id), due=past, offset="0", note=MARKUP)
    assert answer.status_code == 422
    assert error_of(answer) == "Pick a time in the future."
    assert f'value="{past}"' in answer.text  # kept as sent
    assert MARKUP not in answer.text and "&lt;img src=x onerror=alert(1)&gt;" in answer.text
    assert "HX-Trigger" not in answer.headers

    soon = local(datetime.now(UTC) + timedelta(hours=1))
    unnoted = ann.post("/console/parts/conversation/follow-up",
                       conversation_id=str(conversation_id), due=soon, offset="0", note=" ")
    assert unnoted.status_code == 422
    assert error_of(unnoted) == "Add a short note: what did you promise?"
    undated = ann.post("/console/parts/conversation/follow-up",
                       conversation_id=str(conversation_id), due="", note="Ask billing")
    assert error_of(undated) == "Pick the date and time you will answer by."


async def test_an_agent_cannot_act_on_a_chat_not_theirs(
        server: InProcessServer, tokens: list[str]) -> None:
    _, _, conversation_id = await chat_with_ann(server, tokens[0])
    bob = signed_in(server, "bob@example.com")
    soon = local(datetime.now(UTC) + timedelta(hours=1))
    follow_up = bob.post("/console/parts/conversation/follow-up",
                         conversation_id=str(conversation_id), due=soon, offset="0", note="Hm")
    assert follow_up.status_code == 403
    assert error_of(follow_up) == "that conversation is not assigned to you"
    escalation = bob.post("/console/parts/conversation/escalate",
                          conversation_id=str(conversation_id), note=MARKUP)
    assert escalation.status_code == 403
    assert MARKUP not in escalation.text


async def test_an_escalation_alerts_the_supervisors(
        server: InProcessServer, tokens: list[str]) -> None:
    _, maya, conversation_id = await chat_with_ann(server, tokens[0])
    sue = await agent(server, tokens[2], available=False)
    answer = signed_in(server, "ann@example.com").post(
        "/console/parts/conversation/escalate", conversation_id=str(conversation_id),
        note=MARKUP)
    assert answer.status_code == 200, answer.text
    fired = triggered(answer)
    assert "console:sheet-done" in fired
    assert fired["console:alert"] == {"text": "Supervisors were asked to join the chat."}
    alert = await sue.expect("escalation", conversation_id=conversation_id)
    assert alert["note"] == MARKUP and alert["by"]["name"] == "Ann"
    assert await told(maya, "Ann asked a supervisor to join")


async def test_a_sheet_without_the_csrf_header_is_refused(
        server: InProcessServer, tokens: list[str]) -> None:
    _, _, conversation_id = await chat_with_ann(server, tokens[0])
    ann = signed_in(server, "ann@example.com")
    ann.csrf = "wrong"
    answer = ann.post("/console/parts/conversation/escalate", conversation_id=str(conversation_id))
    assert answer.status_code == 403


def visitor_strip(console: Console, conversation_id: int) -> httpx.Response:
    return httpx.get(f"{console.server.url}/console/parts/conversation/{conversation_id}/visitor",
                     cookies={"chatserver_session": console.cookie}, timeout=10)


async def test_the_visitor_strip_shows_zone_page_and_past_chats_escaped(
        server: InProcessServer, tokens: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ann = await agent(server, tokens[0])
    first, first_id = await start_chat(server, MARKUP, name=MARKUP, timezone="Asia/Kolkata",
                                       page="https://shop.example/p?q=<b>")
    await ann.expect("assigned")
    await ann.send("close", conversation_id=first_id)
    await ann.expect("unassigned", conversation_id=first_id)
    await first.send("message", client_id="again", text="Back again")
    second_id = (await first.expect("ack", client_id="again"))["conversation_id"]

    # Thursday 5 March 2026, 11:30 UTC: 17:00 where the visitor is
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 3, 5, 11, 30, tzinfo=UTC).timestamp())
    strip = visitor_strip(signed_in(server, "bob@example.com"), second_id)  # anyone may read
    assert strip.status_code == 200
    assert '<strong class="vd-value">Thu 17:00</strong>' in strip.text
    assert "Kolkata · GMT+5:30" in strip.text
    assert 'href="https://shop.example/p?q=&lt;b&gt;"' in strip.text
    assert "Past chats (1)" in strip.text and f'data-conversation-id="{first_id}"' in strip.text
    assert MARKUP not in strip.text and "&lt;img src=x onerror=alert(1)&gt;" in strip.text
    # a minute on, the time alone is read again: the past chats stay as the agent left them
    bob = signed_in(server, "bob@example.com")
    time_only = httpx.get(strip.url.copy_add_param("only", "time"), timeout=10,
                          cookies={"chatserver_session": bob.cookie})
    assert time_only.text.count("hx-trigger=\"every 60s\"") == strip.text.count("every 60s") == 1
    assert '<strong class="vd-value">Thu 17:00</strong>' in time_only.text
    assert "past-conversations" not in time_only.text and "vd-page" not in time_only.text


async def test_the_visitor_strip_says_unknown_for_what_the_browser_did_not_tell(
        server: InProcessServer, tokens: list[str]) -> None:
    _, conversation_id = await start_chat(server, "Hi", timezone="Mars/Olympus",
                                          page=f"javascript:{MARKUP}")
    ann = signed_in(server, "ann@example.com")
    strip = visitor_strip(ann, conversation_id)
    assert strip.text.count(">unknown<") == 1  # the zone; the page is shown as text
    assert "data-zone" not in strip.text and "<a " not in strip.text
    assert MARKUP not in strip.text
    assert "No past chats" in strip.text
    assert visitor_strip(ann, conversation_id + 100).status_code == 404
