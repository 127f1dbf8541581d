"""The money record keeps everything: the ledger and the audit log are append-only."""

from __future__ import annotations

import sqlite3

import pytest

from chatserver.store.sqlite.migrations import migrate


def ledger_with_one_refund() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    migrate(db)
    db.executescript("""
        INSERT INTO agents (id, email, name, role, created_at)
            VALUES (1, 'a@x.co', 'A', 'agent', 't');
        INSERT INTO customers (id, email, created_at) VALUES (1, 'c@x.co', 't');
        INSERT INTO orders (id, external_id, customer_id, email, product, amount_cents, currency,
            purchased_at, status, created_at, updated_at)
            VALUES (1, '1042', 1, 'c@x.co', 'Course', 1000, 'USD', 't', 'paid', 't', 't');
        INSERT INTO ledger (kind, customer_id, order_id, amount_cents, currency, reason,
            agent_id, provider, created_at)
            VALUES ('refund', 1, 1, 500, 'USD', 'late', 1, 'manual', 't');
        INSERT INTO audit_log (at, agent_id, action, customer_id, detail)
            VALUES ('t', 1, 'refund.issued', 1, '{}');
    """)
    return db


@pytest.mark.parametrize("change", [
    "UPDATE ledger SET amount_cents = 1",
    "UPDATE ledger SET reason = 'other'",
    "DELETE FROM ledger",
    "UPDATE audit_log SET action = 'nothing'",
    "DELETE FROM audit_log",
])
def test_a_recorded_money_action_cannot_be_changed_or_removed(change: str) -> None:
    db = ledger_with_one_refund()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(change)
    assert db.execute("SELECT amount_cents, reason FROM ledger").fetchall() == [(500, "late")]
    assert db.execute("SELECT action FROM audit_log").fetchall() == [("refund.issued",)]


def test_a_merged_customers_entries_may_move_to_the_survivor() -> None:
    db = ledger_with_one_refund()
    db.execute("INSERT INTO customers (id, email, created_at) VALUES (2, 'c@x.co', 't')")
    db.execute("UPDATE ledger SET customer_id = 2")
    assert db.execute("SELECT customer_id, amount_cents FROM ledger").fetchall() == [(2, 500)]
