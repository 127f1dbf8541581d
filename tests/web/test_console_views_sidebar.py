"""The left column's server-rendered lists (/console/parts/sidebar/...) against a real server:
what an agent or a supervisor reads in All open, Closed, search results and follow-ups, the
tab counts that ride along, marking a follow-up done, and markup from anyone shown as text.

The clock is pinned (chatserver.domain.clock.now): "waiting 3m" and "Overdue 2m" are the
server's words at that time."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import httpx
import pytest

from chatserver.domain import clock
from tests.web.conftest import InProcessServer, Peer, agent, visitor

PASSWORD = "correct horse battery"
HOSTILE = '<img src=x onerror=alert(1)>'
PARTS = "/console/parts/sidebar"


@dataclass
class Time:
    at: float


@pytest.fixture
def time(monkeypatch: pytest.MonkeyPatch) -> Time:
    # from the real time: the REST API checks a follow-up is due in the future on its own clock
    pinned = Time(float(int(clock.now())))
    monkeypatch.setattr(clock, "now", lambda: pinned.at)
    return pinned


@dataclass
class Console:
    """One signed-in console page, asking for its parts as htmx does."""

    server: InProcessServer
    cookie: str
    zone: str = "UTC"
    csrf: str = field(init=False)

    def __post_init__(self) -> None:
        page = httpx.get(self.server.url + "/console", cookies=self.cookies, timeout=10)
        found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert found is not None, page.text[:300]
        self.csrf = found.group(1)

    @property
    def cookies(self) -> dict[str, str]:
        return {"chatserver_session": self.cookie, "tz": self.zone}

    def get(self, part: str, **params: str) -> httpx.Response:
        return httpx.get(self.server.url + PARTS + part, params=params, cookies=self.cookies,
                         headers={"HX-Request": "true"}, timeout=10)

    def post(self, part: str, csrf: bool = True, **form: str) -> httpx.Response:
        headers = {"HX-Request": "true", **({"X-CSRF-Token": self.csrf} if csrf else {})}
        return httpx.post(self.server.url + PARTS + part, data=form, cookies=self.cookies,
                          headers=headers, timeout=10)


@dataclass
class Desk:
    server: InProcessServer
    ann: Peer  # an agent, Ann Agent, on her socket
    ann_token: str
    ann_console: Console
    sue_console: Console  # a supervisor


@pytest.fixture
async def desk(server: InProcessServer) -> Desk:
    ann_token, _ = server.staff(("ann@example.com", "Ann Agent", "agent"),
                                ("sue@example.com", "Sue Super", "supervisor"),
                                password=PASSWORD)
    consoles = []
    for email in ("ann@example.com", "sue@example.com"):
        cookie = server.sign_in(email, PASSWORD)
        assert cookie is not None
        consoles.append(Console(server, cookie))
    return Desk(server, await agent(server, ann_token), ann_token, *consoles)


async def chat(desk: Desk, name: str, *texts: str) -> int:
    """A visitor's conversation with Ann: their messages, acknowledged, and hers to answer."""
    peer, _ = await visitor(desk.server, name=name)
    conversation_id = 0
    for n, text in enumerate(texts):
        await peer.send("message", client_id=f"{name}-{n}", text=text)
        conversation_id = (await peer.expect("ack"))["conversation_id"]
    await desk.ann.expect("assigned")
    return conversation_id


def items(html: str) -> list[int]:
    found = re.findall(r'data-testid="conversation-item"\s+data-conversation-id="(\d+)"', html)
    return [int(n) for n in found]


async def test_all_open_is_for_supervisors_and_flags_a_visitor_left_unanswered(
        desk: Desk, time: Time) -> None:
    waiting = await chat(desk, "Grace Hopper", "Where is my parcel?")
    assert desk.ann_console.get("/open").status_code == 403

    time.at += 60
    listed = desk.sue_console.get("/open")
    assert listed.status_code == 200, listed.text
    assert items(listed.text) == [waiting]
    assert "Ann Agent" in listed.text and "waiting 1m" in listed.text
    assert "unanswered-flag" not in listed.text
    assert re.search(r'id="tab-count-open"[^>]*hx-swap-oob="true" hidden>', listed.text)

    time.at += 120  # past the 120 s the server flags at
    flagged = desk.sue_console.get("/open").text
    assert re.search(r'"unanswered-flag" role="status">Waiting 3m — unanswered<', flagged)
    assert re.search(r'class="tab-count alarm" id="tab-count-open"[^>]*>1</span>', flagged)


async def test_closed_lists_the_closed_chats_with_when_they_closed(desk: Desk, time: Time) -> None:
    done = await chat(desk, "Margaret Hamilton", "Change my address please")
    await chat(desk, "Linus", "Still open")
    await desk.ann.send("close", conversation_id=done)
    await desk.ann.expect("unassigned", conversation_id=done)

    listed = desk.ann_console.get("/closed").text
    assert items(listed) == [done]
    assert "Margaret Hamilton" in listed and ">Closed<" in listed
    at = clock.iso(time.at)
    assert f'<time datetime="{at}">{at[11:16]}</time>' in listed  # today, in UTC
    # in the agent's own zone, when the page says which it is
    desk.ann_console.zone = "Asia/Kathmandu"
    hours, minutes = divmod(int(at[11:13]) * 60 + int(at[14:16]) + 5 * 60 + 45, 60)
    local = f"{hours % 24:02}:{minutes:02}"
    assert re.search(f'<time datetime="{at}">(\\w{{3}} )?{local}</time>',
                     desk.ann_console.get("/closed").text)


async def test_search_marks_the_words_found_and_says_when_nothing_is(
        desk: Desk, time: Time) -> None:
    found = await chat(desk, "Grace Hopper", "My parcel tracking says delivered")
    await chat(desk, "Linus", "About my invoice")

    results = desk.ann_console.get("/search", q="parc")
    assert items(results.text) == [found]
    assert "Results for “parc”" in results.text
    # it opens with the words marked in its transcript
    assert f'hx-get="/console/parts/conversation/{found}?q=parc"' in results.text
    assert "My <mark>parcel</mark> tracking says delivered" in results.text

    nothing = desk.ann_console.get("/search", q="xylophone").text
    assert ("No conversation mentions “xylophone”. Only your own conversations are searched."
            in nothing)
    assert desk.ann_console.get("/search", q="  ").status_code == 204
    no_words = desk.ann_console.get("/search", q="!!!")
    assert no_words.status_code == 422
    assert "Search for at least one word." in no_words.text


async def test_follow_ups_soonest_first_overdue_marked_and_done_in_place(
        desk: Desk, time: Time) -> None:
    later = await chat(desk, "Linus", "When does my subscription renew?")
    sooner = await chat(desk, "Grace Hopper", "Was I charged twice?")
    api = {"Authorization": f"Bearer {desk.ann_token}"}
    for conversation_id, minutes, note in ((later, 24 * 60, "Check the renewal"),
                                           (sooner, 5, "Ask billing")):
        set_up = httpx.post(f"{desk.server.url}/api/conversations/{conversation_id}/follow-ups",
                            json={"due_at": clock.iso(time.at + minutes * 60), "note": note},
                            headers=api, timeout=10)
        assert set_up.status_code == 201, set_up.text

    listed = desk.ann_console.get("/follow-ups").text
    assert listed.index("Ask billing") < listed.index("Check the renewal")
    assert ">Due in 5m<" in listed and ">Due in 1d 0h<" in listed
    assert 'data-overdue="true"' not in listed
    assert re.search(r'class="tab-count" id="tab-count-followups"[^>]*>2</span>', listed)

    time.at += 7 * 60
    overdue = desk.ann_console.get("/follow-ups").text
    assert ">Overdue 2m<" in overdue and overdue.count('data-overdue="true"') == 1
    assert re.search(r'class="tab-count alarm" id="tab-count-followups"[^>]*>1</span>', overdue)
    assert "followups-everyone" not in overdue  # Ann sees only her own, and no choice
    assert desk.ann_console.get("/follow-ups", all="1").status_code == 403

    # Sue sees everyone's, with whose they are.
    everyone = desk.sue_console.get("/follow-ups", all="1").text
    assert "Ann Agent" in everyone and "checked" in everyone
    assert "Ask billing" not in desk.sue_console.get("/follow-ups").text

    follow_up_id = re.search(rf'data-follow-up-id="(\d+)" data-conversation-id="{sooner}"',
                             overdue)
    assert follow_up_id is not None
    done_path = f"/follow-ups/{follow_up_id.group(1)}/done"
    assert desk.ann_console.post(done_path, csrf=False).status_code == 403
    done = desk.ann_console.post(done_path)
    assert done.status_code == 200
    assert "Ask billing" not in done.text and "Check the renewal" in done.text
    assert re.search(r'class="tab-count" id="tab-count-followups"[^>]*>1</span>', done.text)
    # the pane showing that chat reads itself again: its header no longer shows the promise
    assert json.loads(done.headers["HX-Trigger"]) == {
        "console:changed": {"conversationId": sooner}}


async def test_a_follow_up_of_someone_else_cannot_be_marked_done_by_an_agent(
        desk: Desk, server: InProcessServer, time: Time) -> None:
    conversation_id = await chat(desk, "Grace Hopper", "Hello")
    made = httpx.post(f"{server.url}/api/conversations/{conversation_id}/follow-ups",
                      json={"due_at": clock.iso(time.at + 600), "note": "Call back"},
                      headers={"Authorization": f"Bearer {desk.ann_token}"}, timeout=10)
    (bob_token,) = server.staff(("bob@example.com", "Bob Agent", "agent"), password=PASSWORD)
    cookie = server.sign_in("bob@example.com", PASSWORD)
    assert bob_token and cookie
    refused = Console(server, cookie).post(f"/follow-ups/{made.json()['follow_up']['id']}/done")
    assert refused.status_code == 403
    assert "Could not mark it done: that follow-up is someone else&#39;s." in refused.text


async def test_markup_from_visitors_and_agents_comes_back_as_text(desk: Desk, time: Time) -> None:
    conversation_id = await chat(desk, HOSTILE, f"parcel {HOSTILE}")
    await desk.ann.send("escalate", conversation_id=conversation_id, note=HOSTILE)
    await desk.ann.expect("message")
    httpx.post(f"{desk.server.url}/api/conversations/{conversation_id}/follow-ups",
               json={"due_at": clock.iso(time.at + 600), "note": HOSTILE},
               headers={"Authorization": f"Bearer {desk.ann_token}"}, timeout=10)
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    for console, part, params in ((desk.sue_console, "/open", {}),
                                  (desk.ann_console, "/search", {"q": "parcel"}),
                                  (desk.sue_console, "/follow-ups", {"all": "1"})):
        html = console.get(part, **params).text
        assert HOSTILE not in html, part
        assert html.count(escaped) >= 2, (part, html)
    searched = desk.ann_console.get("/search", q=HOSTILE).text  # the words echoed back
    assert HOSTILE not in searched and f"Results for “{escaped}”" in searched
    await desk.ann.send("close", conversation_id=conversation_id)
    await desk.ann.expect("unassigned")
    closed = desk.ann_console.get("/closed").text
    assert HOSTILE not in closed and escaped in closed


def test_a_page_whose_session_ended_is_sent_to_sign_in(server: InProcessServer) -> None:
    asked = httpx.get(server.url + PARTS + "/closed", timeout=10,
                      headers={"HX-Request": "true", "HX-Current-URL": server.url + "/console"})
    assert asked.status_code == 401
    assert asked.headers["HX-Redirect"] == "/console/login?next=/console"


async def test_the_inbox_lists_my_chats_with_what_is_unread_and_the_queue_in_line(
        desk: Desk, time: Time) -> None:
    mine = await chat(desk, HOSTILE, "Where is my parcel?", "Hello?")
    await desk.ann.send("presence", status="away")  # the next visitor waits in the queue
    await desk.ann.expect("team")
    waiting, _ = await visitor(desk.server, name="Linus")
    await waiting.send("message", client_id="q-1", text="Anyone there?")
    queued = (await waiting.expect("ack"))["conversation_id"]

    time.at += 180  # past the 120 s the server flags at
    inbox = desk.ann_console.get("/inbox")
    assert inbox.status_code == 200, inbox.text
    mine_part, queue_part = inbox.text.split('data-testid="queue-list"')
    assert items(mine_part) == [mine] and items(queue_part) == [queued]
    assert HOSTILE not in inbox.text and "&lt;img src=x onerror=alert(1)&gt;" in mine_part
    assert re.search(r'data-testid="unread" aria-label="2 unread">2<', mine_part)
    assert "<title>(2) Chatserver console</title>" in inbox.text  # the page's title counts them
    assert "Waiting 3m — unanswered" in mine_part and "Hello?" in mine_part
    assert '<span class="queue-position">#1</span>' in queue_part and "Anyone there?" in queue_part
    assert f'hx-post="/console/parts/conversation/{queued}/claim"' in queue_part
    assert re.search(r'id="load"[^>]*hx-swap-oob="true"[^>]*>1/\d+<', inbox.text)

    await desk.ann.send("read", conversation_id=mine, seq=3)  # 2: "Ann joined"
    await desk.ann.expect("read", conversation_id=mine)
    read = desk.ann_console.get("/inbox").text
    assert 'data-testid="unread"' not in read and '<title>Chatserver console</title>' in read
