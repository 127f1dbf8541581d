"""One process's announcements of its PostgreSQL writes, in seq order per conversation
however the answers come back (store/postgres/announcer.py). Pure: no database."""

from __future__ import annotations

from chatserver.domain.models import Author, Message
from chatserver.store.postgres.announcer import Announcer

VERA = Author("visitor", "Vera", "v1")


def message(conversation_id: int, seq: int | None, note_seq: int | None = None) -> Message:
    return Message(conversation_id, seq, note_seq, VERA, "hi", "2026-12-04T10:00:00.000Z")


class Heard:
    def __init__(self, announcer: Announcer) -> None:
        self.announcer = announcer
        self.order: list[tuple[int, int | None, int | None]] = []

    def back(self, ticket: int, sent: Message | None) -> None:
        self.announcer.committed(ticket, sent, sent, self.note if sent else None)

    def note(self, sent: Message) -> None:
        self.order.append((sent.conversation_id, sent.seq, sent.note_seq))


def test_answers_come_back_out_of_order_and_are_announced_in_seq_order() -> None:
    heard = Heard(Announcer())
    first, second, third = (heard.announcer.start() for _ in range(3))
    heard.back(third, message(1, 3))
    heard.back(second, message(1, 2))
    assert heard.order == []  # seq 1 may still be coming
    heard.back(first, message(1, 1))
    assert heard.order == [(1, 1, None), (1, 2, None), (1, 3, None)]


def test_a_write_waits_only_for_writes_in_flight_when_it_came_back() -> None:
    heard = Heard(Announcer())
    early = heard.announcer.start()
    mine = heard.announcer.start()
    heard.back(mine, message(2, 5))
    later = heard.announcer.start()  # sent after `mine` came back: not waited for by it
    heard.back(early, message(1, 1))  # ... but in flight when `early` came back
    assert heard.order == [(2, 5, None)]
    heard.back(later, message(2, 6))
    assert sorted(heard.order[1:]) == [(1, 1, None), (2, 6, None)]


def test_a_failed_write_holds_nothing_back_and_unordered_results_pass_at_once() -> None:
    heard = Heard(Announcer())
    failing = heard.announcer.start()
    ordered = heard.announcer.start()
    heard.back(ordered, message(1, 1))
    assert heard.order == []
    heard.announcer.failed(failing)
    assert heard.order == [(1, 1, None)]
    results: list[str] = []
    plain = heard.announcer.start()
    heard.announcer.committed(plain, None, "done", results.append)
    assert results == ["done"]


def test_notes_are_numbered_apart_from_visible_messages() -> None:
    heard = Heard(Announcer())
    note, visible = heard.announcer.start(), heard.announcer.start()
    heard.back(visible, message(1, 4))
    heard.back(note, message(1, None, 1))
    assert sorted(heard.order, key=str) == sorted([(1, None, 1), (1, 4, None)], key=str)
    assert len(heard.order) == 2


def test_thousands_in_flight_are_announced_in_order_without_waiting_on_each_other() -> None:
    heard = Heard(Announcer())
    tickets = [heard.announcer.start() for _ in range(5000)]
    for n, ticket in reversed(list(enumerate(tickets))):  # all come back in reverse
        heard.back(ticket, message(n % 50, n // 50 + 1))
    assert len(heard.order) == 5000
    for conversation in range(50):
        seqs = [seq for c, seq, _ in heard.order if c == conversation]
        assert seqs == list(range(1, 101))
