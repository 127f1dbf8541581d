"""Every socket sends a conversation's messages in seq order, each once, whatever order their
events come in: another process may publish late, or die before publishing. Here the events
are published straight on the server's bus, as that other process would."""

from __future__ import annotations

from typing import Any

import pytest
import websockets

from chatserver.domain.models import Author, Message
from chatserver.store import StorageError
from tests.web.conftest import InProcessServer, Peer, agent, visitor


async def committed_unannounced(server: InProcessServer, conversation_id: int, agent_id: int,
                                texts: list[str], private: bool = False) -> list[Message]:
    """Messages stored by Ann with nobody told: their publish is late, or was lost."""
    store = server.app.state.services.agent_desk.store
    author = Author("agent", "Ann", str(agent_id))

    async def post() -> list[Message]:
        return [(await store.post_agent_message(conversation_id, author, f"late-{text}", text,
                                                private)).message for text in texts]
    return await server.on_loop(post)


async def announce(server: InProcessServer, message: Message, visitor_id: str,
                   agent_id: int) -> None:
    """Publish `message`'s event as the process that stored it would."""
    announcer = server.app.state.services.agent_desk.news.announce

    async def publish() -> None:
        announcer.message(message, visitor_id, {agent_id})
    await server.on_loop(publish)


async def chat(server: InProcessServer) -> tuple[Peer, Peer, int, int, str]:
    """Ann holding a visitor's chat: both sockets, the conversation, her id, the visitor's."""
    staff = await agent(server, server.agent("ann@example.com", "Ann"))
    peer, welcome = await visitor(server)
    await peer.send("message", client_id="v1", text="hi")
    conversation_id = (await peer.expect("ack", client_id="v1"))["conversation_id"]
    await staff.expect("assigned")  # with the messages so far in it
    await peer.expect("message", seq=1)
    await peer.expect("message", seq=2, text="Ann joined the chat.")
    return staff, peer, conversation_id, staff.seen[0]["agent"]["id"], welcome["visitor_id"]


def numbered(frames: list[dict[str, Any]], key: str = "seq") -> list[tuple[int, str]]:
    return [(f[key], f["text"]) for f in frames if f["type"] == "message"]


async def test_a_message_ahead_of_a_gap_comes_after_the_messages_it_skipped(
        server: InProcessServer) -> None:
    staff, peer, conversation_id, ann, visitor_id = await chat(server)
    late = await committed_unannounced(server, conversation_id, ann, ["two", "three", "four"])
    await announce(server, late[-1], visitor_id, ann)  # only the last one's event arrives
    expected = [(3, "two"), (4, "three"), (5, "four")]
    assert numbered(await peer.quiet(0.5)) == expected
    assert numbered(await staff.quiet(0.5)) == expected


async def test_late_events_of_messages_already_sent_are_dropped(
        server: InProcessServer) -> None:
    staff, peer, conversation_id, ann, visitor_id = await chat(server)
    late = await committed_unannounced(server, conversation_id, ann, ["two", "three"])
    await announce(server, late[1], visitor_id, ann)
    assert numbered(await peer.quiet(0.5)) == [(3, "two"), (4, "three")]
    for message in late:  # the late publishes arrive after all
        await announce(server, message, visitor_id, ann)
    await staff.send("message", conversation_id=conversation_id, client_id="a4", text="four")
    assert numbered(await peer.quiet(0.5)) == [(5, "four")]
    assert numbered(await staff.quiet(0.5)) == [(3, "two"), (4, "three"), (5, "four")]


async def test_the_next_message_is_sent_at_once_without_reading_the_store(
        server: InProcessServer) -> None:
    staff, peer, conversation_id, ann, visitor_id = await chat(server)
    [two] = await committed_unannounced(server, conversation_id, ann, ["two"])
    store = server.app.state.services.agent_desk.store
    read = store.messages

    async def no_reads(*args: Any, **options: Any) -> list[Message]:
        raise AssertionError("the store was read for a message with no gap before it")
    store.messages = no_reads
    try:
        await announce(server, two, visitor_id, ann)
        assert numbered(await peer.quiet(0.5)) == [(3, "two")]
        assert numbered(await staff.quiet(0.5)) == [(3, "two")]
    finally:
        store.messages = read


async def test_an_agent_gets_private_notes_ahead_of_a_gap_in_order(
        server: InProcessServer) -> None:
    staff, peer, conversation_id, ann, visitor_id = await chat(server)
    notes = await committed_unannounced(server, conversation_id, ann,
                                        ["note one", "note two", "note three"], private=True)
    await announce(server, notes[-1], visitor_id, ann)
    assert numbered(await staff.quiet(0.5), "note_seq") == [
        (1, "note one"), (2, "note two"), (3, "note three")]
    await announce(server, notes[0], visitor_id, ann)  # late: already sent
    assert numbered(await staff.quiet(0.5), "note_seq") == []
    assert numbered(await peer.quiet(0.3)) == []  # notes never reach the visitor


async def test_a_gap_that_cannot_be_read_closes_the_socket_to_resume_later(
        server: InProcessServer) -> None:
    _, peer, conversation_id, ann, visitor_id = await chat(server)
    late = await committed_unannounced(server, conversation_id, ann, ["two", "three"])
    store = server.app.state.services.agent_desk.store

    async def unavailable(*args: Any, **options: Any) -> list[Message]:
        raise StorageError("busy", unavailable="the database is busy")
    store.messages = unavailable
    await announce(server, late[-1], visitor_id, ann)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:  # nothing out of order arrives before the close
            assert (await peer.recv())["type"] != "message"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
