"""SqliteStore's visitors: made with their token, told about, verified as a customer."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import replace
from functools import partial

from chatserver.domain.clock import iso, now
from chatserver.domain.models import DETAILS, Visitor, VisitorDetails
from chatserver.store.sqlite import customers, rows
from chatserver.store.sqlite.connection import Runs
from chatserver.store.tokens import new_token, token_hash


def update_visitor(db: sqlite3.Connection, visitor_id: str, details: VisitorDetails) -> Visitor:
    """Fill in what the visitor told over the visitor as stored, not over a caller's older
    copy (another device may have verified them since); a verified email is never replaced."""
    stored = rows.fetch_visitor(db, visitor_id)
    assert stored is not None  # visitors are never deleted
    changes = {k: details.get(k) or getattr(stored, k) for k in DETAILS}
    if stored.verified:
        changes["email"] = stored.email
    db.execute("UPDATE visitors SET name = ?, email = ?, page = ?, timezone = ? WHERE id = ?",
               (*changes.values(), visitor_id))
    return replace(stored, name=changes["name"], email=changes["email"], page=changes["page"],
                   timezone=changes["timezone"])


def add_visitor(db: sqlite3.Connection, visitor_id: str, details: VisitorDetails) -> Visitor:
    """A new visitor with the `DETAILS` given (other keys ignored)."""
    fields = {k: details.get(k) for k in DETAILS}
    db.execute("INSERT INTO visitors (id, name, email, page, timezone, created_at) "
               "VALUES (?, ?, ?, ?, ?, ?)", (visitor_id, *fields.values(), iso(now())))
    return Visitor(visitor_id, name=fields["name"], email=fields["email"], page=fields["page"],
                   timezone=fields["timezone"])


class VisitorMethods(Runs):
    async def visitor_by_token(self, token: str) -> Visitor | None:
        row = await self._one(rows.VISITOR_SELECT + "JOIN visitor_tokens t ON t.visitor_id = "
                              "v.id WHERE t.token_hash = ?", (token_hash(token),))
        return rows.visitor(row) if row else None

    async def create_visitor(self, details: VisitorDetails) -> tuple[Visitor, str]:
        token = new_token("v_")

        def insert(db: sqlite3.Connection) -> Visitor:
            visitor = add_visitor(db, secrets.token_hex(8), details)
            db.execute("INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) "
                       "VALUES (?, ?, ?)", (token_hash(token), visitor.id, iso(now())))
            return visitor
        return await self._writer.submit(insert), token

    async def update_visitor(self, visitor: Visitor, details: VisitorDetails) -> Visitor:
        """Fill in what the visitor told (nothing new told: no write)."""
        if all(details.get(k) in (None, "", getattr(visitor, k)) for k in DETAILS):
            return visitor
        return await self._writer.submit(
            partial(update_visitor, visitor_id=visitor.id, details=details))

    async def verify_visitor(self, visitor: Visitor, token: str, user_id: str, email: str,
                             name: str | None) -> Visitor:
        """Link the visitor to the customer with this user id (created if new). When the
        customer already has a verified visitor, this token now belongs to that one, so the
        customer's past conversations follow them to this device. A visitor verified as
        another customer (a shared browser) keeps their conversations: this token then
        belongs to a new visitor."""
        def link(db: sqlite3.Connection) -> Visitor:
            customer_id = customers.by_identity(db, user_id, email, name)
            known = db.execute("SELECT id FROM visitors WHERE customer_id = ? AND verified = 1 "
                               "ORDER BY created_at LIMIT 1", (customer_id,)).fetchone()
            stored = rows.fetch_visitor(db, visitor.id)
            if known:
                target = known["id"]
            elif stored and stored.verified and stored.customer_id != customer_id:
                target = add_visitor(db, secrets.token_hex(8), {
                    "page": stored.page, "timezone": stored.timezone}).id
            else:
                target = visitor.id
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
