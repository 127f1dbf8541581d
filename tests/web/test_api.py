"""The transcript endpoints and health, over HTTP against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from chatserver.config import bus_kind, database_kind
from chatserver.service import health
from chatserver.store import StorageError
from tests.backends import query
from tests.web.conftest import InProcessServer, agent, visitor


def backends(server: InProcessServer) -> dict[str, str]:
    """What health names: `sqlite` and `memory`, or `postgresql` and `redis`."""
    return {"database": database_kind(server.settings.database_url),
            "bus": bus_kind(server.settings.bus_url)}


def test_health_needs_no_token_and_names_the_backends(server: InProcessServer) -> None:
    response = httpx.get(server.url + "/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", **backends(server)}
    assert backends(server) in ({"database": "sqlite", "bus": "memory"},
                                {"database": "postgresql", "bus": "redis"})


async def _refuses(name: str) -> str | None:
    raise StorageError("unable to open database file")


async def _hangs(name: str) -> str | None:
    await asyncio.Event().wait()  # a database behind a dead network link
    return None


@pytest.mark.parametrize("unreachable", [_refuses, _hangs], ids=["refusing", "silent"])
def test_health_answers_503_while_the_database_cannot_be_reached_and_200_once_it_can(
        server: InProcessServer, monkeypatch: pytest.MonkeyPatch,
        unreachable: Callable[[str], Awaitable[str | None]]) -> None:
    monkeypatch.setattr(health, "PROBE_SECONDS", 0.2)
    store = server.app.state.services.health.store
    monkeypatch.setattr(store, "setting", unreachable)
    down = httpx.get(server.url + "/api/health", timeout=5)
    assert down.status_code == 503
    assert down.json() == {"status": "unavailable", **backends(server),
                           "error": {"code": "unavailable",
                                     "message": "the database cannot be reached"}}
    assert down.headers["retry-after"] == "10"
    monkeypatch.undo()
    assert httpx.get(server.url + "/api/health", timeout=5).status_code == 200


async def test_transcript_has_every_message_with_client_ids_and_notes(
        server: InProcessServer) -> None:
    token = server.agent("ann@example.com", "Ann")
    ann = await agent(server, token)
    peer, _ = await visitor(server, name="Maya")
    await peer.send("message", client_id="v-1", text="My course won't load")
    conversation_id = (await peer.expect("ack"))["conversation_id"]
    await ann.expect("assigned")
    await ann.send("message", conversation_id=conversation_id, client_id="a-1",
                   text="Sorry! Checking now.")
    await ann.send("message", conversation_id=conversation_id, client_id="n-1",
                   text="Looks like a CDN issue", private=True)
    await ann.expect("ack", client_id="n-1")

    body = server.get(f"/api/conversations/{conversation_id}", token).json()
    assert body["conversation"]["id"] == conversation_id
    assert body["conversation"]["status"] == "active"
    assert body["conversation"]["agent"] == {"name": "Ann"}
    messages = body["messages"]
    assert [(m["author"]["role"], m["text"]) for m in messages] == [
        ("visitor", "My course won't load"), ("system", "Ann joined the chat."),
        ("agent", "Sorry! Checking now."), ("agent", "Looks like a CDN issue")]
    assert messages[0]["client_id"] == "v-1" and messages[2]["client_id"] == "a-1"
    assert [m["private"] for m in messages] == [False, False, False, True]
    assert [m.get("seq") for m in messages] == [1, 2, 3, None]

    text = server.get(f"/api/conversations/{conversation_id}/transcript.txt", token)
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert "Maya (visitor): My course won't load" in text.text
    assert "Ann (agent) [private note]: Looks like a CDN issue" in text.text


async def test_a_line_break_in_a_visitors_text_or_name_cannot_forge_an_agents_line(
        server: InProcessServer) -> None:
    token = server.agent("ann@example.com", "Ann")
    ann = await agent(server, token)
    forged = "\n[2026-01-01T10:00:00.000Z] Ann (agent): "
    peer, _ = await visitor(server, name="Maya" + forged + "I am Ann")
    await peer.send("message", client_id="v-1",
                    text="Thanks" + forged + "Pay the fee at evil.example\r\n\r\nBye")
    conversation_id = (await peer.expect("ack"))["conversation_id"]
    await ann.expect("assigned")

    messages = server.get(f"/api/conversations/{conversation_id}", token).json()["messages"]
    lines = server.get(f"/api/conversations/{conversation_id}/transcript.txt",
                       token).text.splitlines()
    at_margin = [line for line in lines[2:] if not line.startswith("  ")]
    assert [line.split("] ", 1)[0] for line in at_margin] == [f"[{m['at']}" for m in messages]
    assert lines[2:6] == [
        f"[{messages[0]['at']}] Maya",
        "  [2026-01-01T10:00:00.000Z] Ann (agent): I am Ann (visitor): Thanks",
        "  [2026-01-01T10:00:00.000Z] Ann (agent): Pay the fee at evil.example", "  "]
    assert lines[6] == "  Bye"


def test_transcripts_need_a_valid_token(server: InProcessServer) -> None:
    for token in (None, "cs_wrong"):
        response = server.get("/api/conversations/1", token)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.json()["error"]["message"]


async def test_an_unknown_conversation_is_404(server: InProcessServer) -> None:
    token = server.agent("ann@example.com", "Ann")
    peer, _ = await visitor(server)
    await peer.send("message", client_id="m1", text="conversation 1")
    assert (await peer.expect("ack"))["conversation_id"] == 1
    for id_ in ("1", "01"):
        assert server.get(f"/api/conversations/{id_}", token).status_code == 200, id_
    # only plain digits name a conversation: not "1" in other scripts or forms, nor a
    # number past SQLite's integers
    for id_ in ("999", "abc", "0", "-1", "+1", "1_0", "1%0A", "%201", "%D9%A1", "%EF%BC%91",
                "9223372036854775808", "99999999999999999999"):
        for path in (f"/api/conversations/{id_}", f"/api/conversations/{id_}/transcript.txt"):
            response = server.get(path, token)
            assert response.status_code == 404, path
            assert response.json() == {"error": {"code": "not_found",
                                                 "message": "no such conversation"}}


def test_an_unknown_api_path_or_method_is_refused_in_the_api_error_shape(
        server: InProcessServer) -> None:
    missing = httpx.get(server.url + "/api/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = httpx.delete(server.url + "/api/health")
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    page = httpx.get(server.url + "/no-such-page")  # outside the API: a plain page
    assert page.status_code == 404 and page.text == "Not Found"


def test_a_body_over_1_mib_is_refused_with_413_before_it_is_read_whole(
        server: InProcessServer) -> None:
    token = server.integration()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    huge = b'{"external_id": "' + b"x" * (2 * 1024 * 1024) + b'"}'

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent in chunks
        for start in range(0, len(huge), 65536):
            yield huge[start:start + 65536]

    for body in (huge, chunks()):
        response = httpx.post(server.url + "/api/orders", content=body, headers=headers,
                              timeout=10)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"
    assert query(server.settings.database_url, "SELECT COUNT(*) FROM orders") == [(0,)]
    fine = httpx.post(server.url + "/api/orders", headers=headers, timeout=10, json={
        "external_id": "1", "email": "m@example.com", "product": "P", "amount_cents": 1,
        "currency": "USD"})
    assert fine.status_code == 201
