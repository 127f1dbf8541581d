"""SqliteStore's visitors: made with their token, told about, verified as a customer."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import replace

from chatserver.domain.clock import iso, now
from chatserver.domain.models import DETAILS, Visitor, VisitorDetails
from chatserver.store.sqlite import customers, rows
from chatserver.store.sqlite.connection import Runs
from chatserver.store.sqlite.tokens import new_token, token_hash


class VisitorMethods(Runs):
    async def visitor_by_token(self, token: str) -> Visitor | None:
        row = await self._one(rows.VISITOR_SELECT + "JOIN visitor_tokens t ON t.visitor_id = "
                              "v.id WHERE t.token_hash = ?", (token_hash(token),))
        return rows.visitor(row) if row else None

    async def create_visitor(self, details: VisitorDetails) -> tuple[Visitor, str]:
        token, visitor_id = new_token("v_"), secrets.token_hex(8)
        fields = {k: details.get(k) for k in DETAILS}

        def insert(db: sqlite3.Connection) -> Visitor:
            stamp = iso(now())
            db.execute("INSERT INTO visitors (id, name, email, page, timezone, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (visitor_id, *fields.values(), stamp))
            db.execute("INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) "
                       "VALUES (?, ?, ?)", (token_hash(token), visitor_id, stamp))
            return Visitor(visitor_id, name=fields["name"], email=fields["email"],
                           page=fields["page"], timezone=fields["timezone"])
        return await self._writer.submit(insert), token

    async def update_visitor(self, visitor: Visitor, details: VisitorDetails) -> Visitor:
        """Fill in what the visitor told; a verified identity's email is never overwritten."""
        changes = {k: details.get(k) or getattr(visitor, k) for k in DETAILS}
        if visitor.verified:
            changes["email"] = visitor.email
        if all(getattr(visitor, k) == v for k, v in changes.items()):
            return visitor
        await self._writer.submit(lambda db: db.execute(
            "UPDATE visitors SET name = ?, email = ?, page = ?, timezone = ? WHERE id = ?",
            (*changes.values(), visitor.id)))
        return replace(visitor, name=changes["name"], email=changes["email"],
                       page=changes["page"], timezone=changes["timezone"])

    async def verify_visitor(self, visitor: Visitor, token: str, user_id: str, email: str,
                             name: str | None) -> Visitor:
        """Link the visitor to the customer with this user id (created if new). When the
        customer already has a verified visitor, this token now belongs to that one, so the
        customer's past conversations follow them to this device."""
        def link(db: sqlite3.Connection) -> Visitor:
            customer_id = customers.by_identity(db, user_id, email, name)
            known = db.execute("SELECT id FROM visitors WHERE customer_id = ? AND verified = 1 "
                               "ORDER BY created_at LIMIT 1", (customer_id,)).fetchone()
            target = known["id"] if known else visitor.id
            db.execute("UPDATE visitors SET verified = 1, customer_id = ?, email = ?, "
                       "name = COALESCE(?, name) WHERE id = ?", (customer_id, email, name, target))
            db.execute("UPDATE conversations SET customer_id = ? WHERE visitor_id = ?",
                       (customer_id, target))
            db.execute("UPDATE visitor_tokens SET visitor_id = ? WHERE token_hash = ?",
                       (target, token_hash(token)))
            found = rows.fetch_visitor(db, target)
            assert found is not None
            return found
        return await self._writer.submit(link)

    async def visitor(self, visitor_id: str) -> Visitor | None:
        row = await self._one(rows.VISITOR_SELECT + "WHERE v.id = ?", (visitor_id,))
        return rows.visitor(row) if row else None
