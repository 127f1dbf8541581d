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
    # 2: orders, the money ledger, approvals, purchase verifications, idempotency, audit
    """
    ALTER TABLE customers ADD COLUMN merged_into INTEGER REFERENCES customers(id);
    CREATE TABLE orders (
        id INTEGER PRIMARY KEY,
        external_id TEXT NOT NULL UNIQUE,
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        email TEXT NOT NULL,
        name TEXT,
        product TEXT NOT NULL,
        amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
        currency TEXT NOT NULL CHECK (length(currency) = 3),
        purchased_at TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX orders_customer ON orders(customer_id);
    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('refund', 'credit')),
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        order_id INTEGER REFERENCES orders(id),
        conversation_id INTEGER REFERENCES conversations(id),
        amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
        currency TEXT NOT NULL,
        reason TEXT NOT NULL,
        expires_at TEXT,
        why TEXT NOT NULL,
        requested_by INTEGER NOT NULL REFERENCES agents(id),
        decided_by INTEGER REFERENCES agents(id),
        decided_at TEXT,
        note TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX approvals_pending ON approvals(status) WHERE status = 'pending';
    CREATE TABLE ledger (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('refund', 'credit')),
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        order_id INTEGER REFERENCES orders(id),
        conversation_id INTEGER REFERENCES conversations(id),
        amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
        currency TEXT NOT NULL,
        reason TEXT NOT NULL,
        expires_at TEXT,
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        approval_id INTEGER REFERENCES approvals(id),
        provider TEXT NOT NULL,
        created_at TEXT NOT NULL,
        CHECK (kind = 'credit' OR order_id IS NOT NULL)
    );
    CREATE INDEX ledger_customer ON ledger(customer_id);
    CREATE INDEX ledger_order ON ledger(order_id) WHERE order_id IS NOT NULL;
    CREATE TRIGGER ledger_append_only_update BEFORE UPDATE OF kind, order_id, conversation_id,
        amount_cents, currency, reason, expires_at, agent_id, approval_id, provider, created_at
        ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
    CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
    CREATE TABLE verifications (
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        order_id INTEGER NOT NULL REFERENCES orders(id),
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        created_at TEXT NOT NULL,
        PRIMARY KEY (conversation_id, order_id)
    );
    CREATE TABLE idempotency (
        scope TEXT NOT NULL,
        path TEXT NOT NULL,
        key TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        response TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (scope, path, key)
    );
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        agent_id INTEGER REFERENCES agents(id),
        action TEXT NOT NULL,
        customer_id INTEGER,
        detail TEXT NOT NULL
    );
    CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """,
    # 3: how far a visitor's missed answers have been emailed
    """
    ALTER TABLE conversations ADD COLUMN emailed_seq INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: console sessions, canned responses, follow-ups, escalation, transcript search
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        ended_at TEXT
    );
    CREATE TABLE canned_responses (
        id INTEGER PRIMARY KEY,
        shortcut TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE follow_ups (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        due_at TEXT NOT NULL,
        note TEXT NOT NULL,
        created_at TEXT NOT NULL,
        done_at TEXT
    );
    CREATE INDEX follow_ups_open ON follow_ups(due_at) WHERE done_at IS NULL;
    ALTER TABLE conversations ADD COLUMN escalated_at TEXT;
    CREATE VIRTUAL TABLE messages_search USING fts5(text, content='messages',
        content_rowid='id');
    INSERT INTO messages_search (rowid, text) SELECT id, text FROM messages;
    CREATE TRIGGER messages_searchable AFTER INSERT ON messages BEGIN
        INSERT INTO messages_search (rowid, text) VALUES (new.id, new.text); END;
    ALTER TABLE visitors ADD COLUMN timezone TEXT;
    """,
    # 5: new messages are indexed for search in bulk (store/upkeep.py), not by a trigger per
    # row, which cost as much as the rest of the write
    """
    DROP TRIGGER messages_searchable;
    CREATE TABLE search_indexed (upto INTEGER NOT NULL);
    INSERT INTO search_indexed (upto) SELECT COALESCE(MAX(id), 0) FROM messages;
    """,
    # 6: integration tokens: a token for the shop's systems belongs to no agent (agent_id
    # NULL); SQLite drops a NOT NULL only by rebuilding the table
    """
    CREATE TABLE api_tokens_new (
        id INTEGER PRIMARY KEY,
        agent_id INTEGER REFERENCES agents(id),
        token_hash TEXT NOT NULL UNIQUE,
        label TEXT,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    INSERT INTO api_tokens_new (id, agent_id, token_hash, label, created_at, revoked_at)
        SELECT id, agent_id, token_hash, label, created_at, revoked_at FROM api_tokens;
    DROP TABLE api_tokens;
    ALTER TABLE api_tokens_new RENAME TO api_tokens;
    """,
    # 7: signed order webhooks: the last one applied to each order, and those received
    # recently (by signature), so neither an older one nor a replay changes anything
    """
    ALTER TABLE orders ADD COLUMN webhook_timestamp INTEGER;
    CREATE TABLE webhook_receipts (
        signature TEXT PRIMARY KEY,
        timestamp INTEGER NOT NULL
    );
    CREATE INDEX webhook_receipts_by_time ON webhook_receipts(timestamp);
    """,
    # 8: when an agent first took the conversation: a transfer or a requeue moves
    # `assigned_at`, not the visitor's wait (reports, the expected wait)
    """
    ALTER TABLE conversations ADD COLUMN first_assigned_at TEXT;
    UPDATE conversations SET first_assigned_at = assigned_at;
    """,
    # 9: a purchase an agent verified links the visitor to its buyer, for their later chats
    # too; `verified` stays for a signed identity
    """
    ALTER TABLE visitors ADD COLUMN purchase_verified_at TEXT;
    """,
    # 10: why a chat was escalated, for the agents who see it in their lists later
    """
    ALTER TABLE conversations ADD COLUMN escalation_note TEXT;
    """,
    # 11: alerts raised once each, by whichever server process claims them first
    """
    CREATE TABLE alerts_raised (
        kind TEXT NOT NULL,
        subject INTEGER NOT NULL,
        mark TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        PRIMARY KEY (kind, subject, mark)
    ) WITHOUT ROWID;
    """,
    # 12: routing across processes: its lock and version, the live server processes and
    # the agents' connections through each, when an agent's last connection went and when
    # they were last given a conversation (times in epoch seconds, by the store's clock)
    """
    CREATE TABLE routing (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
    INSERT INTO routing (id, version) VALUES (1, 0);
    CREATE TABLE server_processes (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        started_at REAL NOT NULL,
        heartbeat_at REAL NOT NULL
    );
    CREATE TABLE agent_connections (
        id INTEGER PRIMARY KEY,
        process_id INTEGER NOT NULL REFERENCES server_processes(id) ON DELETE CASCADE,
        agent_id INTEGER NOT NULL REFERENCES agents(id)
    );
    CREATE INDEX agent_connections_process ON agent_connections (process_id);
    CREATE INDEX server_processes_name ON server_processes (name);
    CREATE INDEX agent_connections_agent ON agent_connections (agent_id);
    ALTER TABLE agents ADD COLUMN disconnected_at REAL;
    ALTER TABLE agents ADD COLUMN last_assigned_at REAL;
    """,
    # 13: orders from a shop's platform (Shopify, WooCommerce): their reference there, the
    # refunds it reported ({refund id: cents}) and their total, which ledger.refundable counts
    """
    ALTER TABLE orders ADD COLUMN shop_refunded_cents INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE orders ADD COLUMN shop_ref TEXT;
    ALTER TABLE orders ADD COLUMN shop_refunds TEXT;
    CREATE UNIQUE INDEX orders_by_shop_ref ON orders(shop_ref);
    """,
    # 14: outgoing webhooks: the endpoints, and the outbox of their deliveries, written by
    # triggers in the very transaction of the change each reports (an INSERT ... SELECT
    # from the endpoints subscribed). The messages' trigger is made only while an endpoint
    # wants them (sqlite/webhooks.py).
    # `subject` is the id of what changed; `body` is kept from the first try on.
    """
    CREATE TABLE webhook_endpoints (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL,
        events TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY,
        endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        subject INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at REAL NOT NULL DEFAULT 0,
        leased_until REAL NOT NULL DEFAULT 0,
        body TEXT,
        answer_status INTEGER,
        answer_excerpt TEXT,
        tried_at TEXT
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at)
        WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_of_endpoint ON webhook_deliveries (endpoint_id, id);
    CREATE TRIGGER webhook_conversation_created AFTER INSERT ON conversations BEGIN
        INSERT INTO webhook_deliveries (endpoint_id, type, subject, created_at)
        SELECT id, 'conversation.created', NEW.id, NEW.created_at FROM webhook_endpoints
        WHERE instr(events, ' conversation.created ');
    END;
    CREATE TRIGGER webhook_conversation_assigned AFTER UPDATE OF status, agent_id
    ON conversations WHEN NEW.status = 'active' AND (OLD.status != 'active'
        OR OLD.agent_id IS NOT NEW.agent_id) BEGIN
        INSERT INTO webhook_deliveries (endpoint_id, type, subject, created_at)
        SELECT id, 'conversation.assigned', NEW.id, NEW.assigned_at FROM webhook_endpoints
        WHERE instr(events, ' conversation.assigned ');
    END;
    CREATE TRIGGER webhook_conversation_closed AFTER UPDATE OF status ON conversations
    WHEN NEW.status = 'closed' AND OLD.status != 'closed' BEGIN
        INSERT INTO webhook_deliveries (endpoint_id, type, subject, created_at)
        SELECT id, 'conversation.closed', NEW.id, NEW.closed_at FROM webhook_endpoints
        WHERE instr(events, ' conversation.closed ');
    END;
    CREATE TRIGGER webhook_conversation_rated AFTER UPDATE OF rated_at ON conversations
    WHEN NEW.rated_at IS NOT NULL AND NEW.rated_at IS NOT OLD.rated_at BEGIN
        INSERT INTO webhook_deliveries (endpoint_id, type, subject, created_at)
        SELECT id, 'conversation.rated', NEW.id, NEW.rated_at FROM webhook_endpoints
        WHERE instr(events, ' conversation.rated ');
    END;
    CREATE TRIGGER webhook_money_created AFTER INSERT ON ledger BEGIN
        INSERT INTO webhook_deliveries (endpoint_id, type, subject, created_at)
        SELECT id, NEW.kind || '.created', NEW.id, NEW.created_at FROM webhook_endpoints
        WHERE instr(events, ' ' || NEW.kind || '.created ');
    END;
    CREATE TRIGGER webhook_follow_up_due AFTER INSERT ON alerts_raised
    WHEN NEW.kind = 'overdue' BEGIN
        INSERT INTO webhook_deliveries (endpoint_id, type, subject, created_at)
        SELECT id, 'follow_up.due', NEW.subject, NEW.raised_at FROM webhook_endpoints
        WHERE instr(events, ' follow_up.due ');
    END;
    """,
    # 15: privacy: a customer erased on request, a conversation erased (with its customer, or
    # when the retention period has passed); the closed ones the retention task looks at
    """
    ALTER TABLE customers ADD COLUMN erased_at TEXT;
    ALTER TABLE conversations ADD COLUMN erased_at TEXT;
    CREATE INDEX conversations_to_expire ON conversations(closed_at)
        WHERE status = 'closed' AND erased_at IS NULL;
    """,
    # 16: payment providers (docs/stripe.md): an order's provider and its payment there (a
    # Stripe payment intent or charge); a refund's key, id and status at its provider, and
    # its error. A refund whose provider says `failed` counts for nothing (views.COUNTED).
    # `refund.updated` is written to the outbox whenever that status changes.
    """
    ALTER TABLE orders ADD COLUMN provider TEXT NOT NULL DEFAULT 'manual';
    ALTER TABLE orders ADD COLUMN provider_payment_id TEXT;
    ALTER TABLE ledger ADD COLUMN provider_key TEXT;
    ALTER TABLE ledger ADD COLUMN provider_refund_id TEXT;
    ALTER TABLE ledger ADD COLUMN provider_status TEXT
        CHECK (provider_status IN ('pending', 'succeeded', 'failed'));
    ALTER TABLE ledger ADD COLUMN provider_error TEXT;
    ALTER TABLE ledger ADD COLUMN provider_updated_at TEXT;
    CREATE UNIQUE INDEX ledger_by_provider_refund ON ledger(provider, provider_refund_id);
    CREATE TRIGGER webhook_refund_updated AFTER UPDATE OF provider_status ON ledger
    WHEN NEW.provider_status IS NOT OLD.provider_status BEGIN
        INSERT INTO webhook_deliveries (endpoint_id, type, subject, created_at)
        SELECT id, 'refund.updated', NEW.id, NEW.provider_updated_at FROM webhook_endpoints
        WHERE instr(events, ' refund.updated ');
    END;
    """,
    # 17: attachments (issue 15): a file kept in the database (several servers share no
    # disk), its uploader's until a message carries it (`messages.attachment_id`), then its
    # conversation's
    """
    CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        uploader_kind TEXT NOT NULL CHECK (uploader_kind IN ('visitor', 'agent')),
        uploader_id TEXT NOT NULL,
        conversation_id INTEGER REFERENCES conversations(id),
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        thumbnail BLOB,
        created_at TEXT NOT NULL
    );
    CREATE INDEX attachments_by_uploader ON attachments(uploader_kind, uploader_id, created_at);
    CREATE INDEX attachments_by_conversation ON attachments(conversation_id)
        WHERE conversation_id IS NOT NULL;
    ALTER TABLE messages ADD COLUMN attachment_id INTEGER REFERENCES attachments(id);
    """,
    # 18: attachments' bytes in a directory (ATTACHMENTS_DIR, store/files.py): the file's
    # name there, `bytes` then empty
    """
    ALTER TABLE attachments ADD COLUMN file TEXT;
    """,
    # 19: since when an open conversation's visitor waits for an answer, kept as messages
    # are written (conversations.py): the watch (service/supervision.py) read it from every
    # message of every open conversation every five seconds
    """
    ALTER TABLE conversations ADD COLUMN unanswered_since TEXT;
    UPDATE conversations SET unanswered_since = (SELECT MIN(created_at) FROM messages m
        WHERE m.conversation_id = conversations.id AND m.author_role = 'visitor'
        AND m.seq > COALESCE((SELECT MAX(seq) FROM messages WHERE conversation_id =
        conversations.id AND author_role = 'agent' AND seq IS NOT NULL), 0))
        WHERE status != 'closed';
    """,
]


def migrate(db: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the version it is at. Each step is atomic, and
    the version is read under the write lock, so two processes starting on one new database
    never both run a step."""
    while True:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise RuntimeError(f"the database is at schema {version}, newer than this "
                                   "chatserver")
            if version == len(MIGRATIONS):
                db.execute("COMMIT")
                return version
            for statement in _statements(MIGRATIONS[version]):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _statements(script: str) -> list[str]:
    """Split a script into statements (executescript would commit behind our back); a
    trigger's body keeps its inner `;`s."""
    statements: list[str] = []
    for part in script.split(";"):
        if statements and statements[-1].lstrip().upper().startswith("CREATE TRIGGER") and \
                not statements[-1].rstrip().upper().endswith("END"):
            statements[-1] += ";" + part
        elif part.strip():
            statements.append(part)
    return [s.strip() for s in statements if s.strip()]
