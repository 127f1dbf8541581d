"""The event: encoded once, and known by an id that is unique across processes."""

from __future__ import annotations

import os

from chatserver.bus import Event


def test_an_event_is_encoded_once_as_json() -> None:
    shared = Event({"type": "message", "text": "héllo", "seq": 3})
    assert shared.type == "message"
    expected = '{"type":"message","text":"héllo","seq":3}'  # the id is not sent
    assert shared.data == expected.encode()
    assert shared.data is shared.data


def test_every_new_event_has_an_id_of_its_own() -> None:
    frame = {"type": "typing"}
    assert len({Event(frame).id for _ in range(1000)}) == 1000


def test_an_event_rebuilt_from_its_id_is_known_as_the_same() -> None:
    original = Event({"type": "message", "seq": 1})
    assert Event(dict(original.frame), original.id).id == original.id


def test_a_forked_process_does_not_repeat_its_parents_ids() -> None:
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the child sends the id it makes next, and leaves at once
        os.write(writing, Event({"type": "typing"}).id.encode())
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading, "rb") as pipe:
        child_id = pipe.read().decode()
    os.waitpid(child, 0)
    assert child_id
    assert child_id != Event({"type": "typing"}).id
