"""A new role, a new password or a disable takes effect on the sockets and sessions already
open: through the admin API (they end) and underneath it (the next privileged frame is
refused)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import websockets

from tests.backends import query
from tests.web.conftest import InProcessServer, Peer, agent, visitor

PASSWORD = "pa55word-long"


def staff(server: InProcessServer) -> dict[str, str]:
    """Ann (agent), Sue (supervisor) and Ada (admin), all with PASSWORD; their API tokens."""
    tokens = server.staff(("ann@example.com", "Ann", "agent"),
                          ("sue@example.com", "Sue", "supervisor"),
                          ("ada@example.com", "Ada", "admin"), password=PASSWORD)
    return dict(zip(("ann", "sue", "ada"), tokens, strict=True))


def agent_id(server: InProcessServer, token: str, email: str) -> int:
    [found] = [a["id"] for a in server.get("/api/agents", token).json()["agents"]
               if a["email"] == email]
    return int(found)


def csrf_of(server: InProcessServer, cookie: str) -> str:
    page = httpx.get(server.url + "/console", cookies={"chatserver_session": cookie})
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.status_code
    return found.group(1)


def console_opens(server: InProcessServer, cookie: str) -> bool:
    page = httpx.get(server.url + "/console", cookies={"chatserver_session": cookie})
    return page.status_code == 200


async def console_socket(server: InProcessServer, cookie: str) -> Peer:
    peer = Peer(await websockets.connect(
        server.ws + "/ws/agent", origin=server.url,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"chatserver_session={cookie}"}))
    await peer.expect("welcome")
    return peer


async def close_code(peer: Peer) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await peer.ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def anns_chat(server: InProcessServer, ann: Peer) -> int:
    """A visitor's chat, assigned to Ann; its id."""
    peer, _ = await visitor(server)
    await peer.send("message", client_id="first", text="hello")
    conversation_id: int = (await peer.expect("ack", client_id="first"))["conversation_id"]
    await ann.expect("assigned")
    return conversation_id


def set_role(server: InProcessServer, email: str, role: str) -> None:
    """Change a role in the database directly, as another process would."""
    query(server.settings.database_url, "UPDATE agents SET role = ? WHERE email = ?", role,
          email)


@pytest.mark.parametrize("change", [{"role": "agent"}, {"password": "a-new-password"},
                                    {"disabled": True}])
async def test_a_role_password_or_disable_change_ends_the_agents_sockets_and_sessions(
        server: InProcessServer, change: dict[str, Any]) -> None:
    tokens = staff(server)
    cookie = server.sign_in("sue@example.com", PASSWORD)
    assert cookie is not None
    in_console = await console_socket(server, cookie)
    by_token = await agent(server, tokens["sue"], available=False)

    sue_id = agent_id(server, tokens["ada"], "sue@example.com")
    changed = httpx.patch(server.url + f"/api/agents/{sue_id}", json=change,
                          headers={"Authorization": f"Bearer {tokens['ada']}"})
    assert changed.status_code == 200, changed.text
    for peer in (in_console, by_token):
        await peer.expect("signed_out")
        assert await close_code(peer) == 4001
    assert not console_opens(server, cookie)  # signed out: the cookie is worthless now


async def test_a_new_password_keeps_the_session_that_set_it_and_ends_the_others(
        server: InProcessServer) -> None:
    tokens = staff(server)
    here, elsewhere = (server.sign_in("ada@example.com", PASSWORD) for _ in range(2))
    assert here is not None and elsewhere is not None
    here_socket, elsewhere_socket = [await console_socket(server, c) for c in (here, elsewhere)]

    ada_id = agent_id(server, tokens["ada"], "ada@example.com")
    changed = httpx.patch(server.url + f"/api/agents/{ada_id}", json={"password": "new-secret"},
                          cookies={"chatserver_session": here},
                          headers={"X-CSRF-Token": csrf_of(server, here)})
    assert changed.status_code == 200, changed.text
    await elsewhere_socket.expect("signed_out")
    assert await close_code(elsewhere_socket) == 4001
    assert not console_opens(server, elsewhere)

    await here_socket.expect("team")  # news sent after the sign-out: that came first
    assert not any(frame["type"] == "signed_out" for frame in here_socket.seen)
    assert console_opens(server, here)
    assert server.sign_in("ada@example.com", "new-secret") is not None


async def test_a_role_changed_underneath_an_open_socket_counts_at_its_next_privileged_frame(
        server: InProcessServer) -> None:
    tokens = staff(server)
    ann = await agent(server, tokens["ann"])
    sue = await agent(server, tokens["sue"], available=False)
    conversation_id = await anns_chat(server, ann)
    await sue.send("sync", conversation_id=conversation_id, last_seq=0)
    await sue.expect("history", conversation_id=conversation_id)
    await sue.send("message", conversation_id=conversation_id, client_id="n1", text="psst",
                   private=True)
    await sue.expect("ack", client_id="n1")

    set_role(server, "sue@example.com", "agent")  # e.g. by another server process
    await sue.send("sync", conversation_id=conversation_id, last_seq=0)
    assert (await sue.expect("error"))["code"] == "forbidden"
    await sue.send("message", conversation_id=conversation_id, client_id="n2",
                   text="one more", private=True)
    assert (await sue.expect("error", client_id="n2"))["code"] == "forbidden"
    await sue.send("escalate", conversation_id=conversation_id)
    assert (await sue.expect("error"))["code"] == "forbidden"
