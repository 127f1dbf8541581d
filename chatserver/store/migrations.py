"""Versioned schema migrations: each step upgrades a database in place, in order, once.

`PRAGMA user_version` records how many steps a database has had. Append new steps; never
edit a released one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: agents, visitors, conversations, messages
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE agents (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
        capacity INTEGER NOT NULL DEFAULT 3 CHECK (capacity >= 0),
        password_hash TEXT,
        status TEXT NOT NULL DEFAULT 'away' CHECK (status IN ('available', 'away')),
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        token_hash TEXT NOT NULL UNIQUE,
        label TEXT,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE customers (
        id INTEGER PRIMARY KEY,
        external_user_id TEXT UNIQUE,
        email TEXT COLLATE NOCASE,
        name TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX customers_email ON customers(email);
    CREATE TABLE visitors (
        id TEXT PRIMARY KEY,
        name TEXT,
        email TEXT,
        verified INTEGER NOT NULL DEFAULT 0,
        customer_id INTEGER REFERENCES customers(id),
        page TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX visitors_customer ON visitors(customer_id) WHERE customer_id IS NOT NULL;
    CREATE TABLE visitor_tokens (
        token_hash TEXT PRIMARY KEY,
        visitor_id TEXT NOT NULL REFERENCES visitors(id),
        created_at TEXT NOT NULL
    );
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        visitor_id TEXT NOT NULL REFERENCES visitors(id),
        customer_id INTEGER REFERENCES customers(id),
        status TEXT NOT NULL CHECK (status IN ('queued', 'active', 'closed')),
        agent_id INTEGER REFERENCES agents(id),
        queue_rank REAL,
        created_at TEXT NOT NULL,
        waiting_since TEXT NOT NULL,
        assigned_at TEXT,
        closed_at TEXT,
        closed_by TEXT,
        last_seq INTEGER NOT NULL DEFAULT 0,
        last_note_seq INTEGER NOT NULL DEFAULT 0,
        visitor_read_seq INTEGER NOT NULL DEFAULT 0,
        agent_read_seq INTEGER NOT NULL DEFAULT 0,
        rating_score INTEGER CHECK (rating_score BETWEEN 1 AND 5),
        rating_comment TEXT,
        rated_at TEXT
    );
    CREATE UNIQUE INDEX conversations_one_open ON conversations(visitor_id)
        WHERE status != 'closed';
    CREATE INDEX conversations_by_visitor ON conversations(visitor_id, id);
    CREATE INDEX conversations_open ON conversations(status) WHERE status != 'closed';
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        seq INTEGER,
        note_seq INTEGER,
        author_role TEXT NOT NULL CHECK (author_role IN ('visitor', 'agent', 'system')),
        author_id TEXT,
        author_name TEXT NOT NULL,
        sender_key TEXT,
        client_id TEXT,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL,
        CHECK ((seq IS NULL) != (note_seq IS NULL))
    );
    CREATE UNIQUE INDEX messages_seq ON messages(conversation_id, seq) WHERE seq IS NOT NULL;
    CREATE UNIQUE INDEX messages_note_seq ON messages(conversation_id, note_seq)
        WHERE note_seq IS NOT NULL;
    CREATE UNIQUE INDEX messages_client_id ON messages(sender_key, client_id)
        WHERE client_id IS NOT NULL;
    """,
]


def migrate(db: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the version it is at. Each step is atomic."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(f"the database is at schema {version}, newer than this chatserver")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    """Split a script on `;` (executescript would commit behind our back)."""
    return [s.strip() for s in script.split(";") if s.strip()]
