"""PostgresStore's visitors: made with their token, told about, verified as a customer."""

from __future__ import annotations

import secrets
from dataclasses import replace

from chatserver.domain.clock import iso, now
from chatserver.domain.models import DETAILS, Visitor, VisitorDetails
from chatserver.store import records
from chatserver.store.postgres import customers, rows
from chatserver.store.postgres.connection import Connection, Runs
from chatserver.store.tokens import new_token, token_hash


async def update_visitor(db: Connection, visitor_id: str, details: VisitorDetails) -> Visitor:
    """Fill in what the visitor told over the visitor as stored (locked), not over a caller's
    older copy (another device may have verified them since); a verified email is never
    replaced."""
    await db.execute("SELECT 1 FROM visitors WHERE id = $1 FOR UPDATE", visitor_id)
    stored = await rows.fetch_visitor(db, visitor_id)
    assert stored is not None  # visitors are never deleted
    changes = {k: details.get(k) or getattr(stored, k) for k in DETAILS}
    if stored.verified:
        changes["email"] = stored.email
    await db.execute("UPDATE visitors SET name = $1, email = $2, page = $3, timezone = $4 "
                     "WHERE id = $5", *changes.values(), visitor_id)
    return replace(stored, name=changes["name"], email=changes["email"], page=changes["page"],
                   timezone=changes["timezone"])


async def add_visitor(db: Connection, details: VisitorDetails) -> Visitor:
    """A new visitor with the `DETAILS` given (other keys ignored)."""
    visitor_id = secrets.token_hex(8)
    fields = {k: details.get(k) for k in DETAILS}
    await db.execute("INSERT INTO visitors (id, name, email, page, timezone, created_at) "
                     "VALUES ($1, $2, $3, $4, $5, $6)", visitor_id, *fields.values(),
                     iso(now()))
    return Visitor(visitor_id, name=fields["name"], email=fields["email"], page=fields["page"],
                   timezone=fields["timezone"])


async def verify(db: Connection, visitor_id: str, token: str, user_id: str, email: str,
                 name: str | None) -> Visitor:
    """As SQLite's: the customer's verified visitor takes this token; a visitor verified as
    another customer keeps their conversations, and the token gets a new visitor."""
    customer_id = await customers.by_identity(db, user_id, email, name)
    known = await db.fetchval("SELECT id FROM visitors WHERE customer_id = $1 AND verified "
                              "ORDER BY created_at LIMIT 1", customer_id)
    stored = await rows.fetch_visitor(db, visitor_id)
    if known:
        target = known
    elif stored and stored.verified and stored.customer_id != customer_id:
        target = (await add_visitor(db, {"page": stored.page,
                                         "timezone": stored.timezone})).id
    else:
        target = visitor_id
    await db.execute("UPDATE visitors SET verified = TRUE, customer_id = $1, email = $2, "
                     "name = COALESCE($3, name) WHERE id = $4", customer_id, email, name, target)
    await db.execute("UPDATE conversations SET customer_id = $1 WHERE visitor_id = $2",
                     customer_id, target)
    await db.execute("UPDATE visitor_tokens SET visitor_id = $1 WHERE token_hash = $2",
                     target, token_hash(token))
    found = await rows.fetch_visitor(db, target)
    assert found is not None
    return found


class VisitorMethods(Runs):
    async def visitor_by_token(self, token: str) -> Visitor | None:
        row = await self._one(rows.VISITOR_SELECT + "JOIN visitor_tokens t ON t.visitor_id = "
                              "v.id WHERE t.token_hash = $1", token_hash(token))
        return records.visitor(row) if row else None

    async def create_visitor(self, details: VisitorDetails) -> tuple[Visitor, str]:
        token = new_token("v_")

        async def insert(db: Connection) -> Visitor:
            visitor = await add_visitor(db, details)
            await db.execute("INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) "
                             "VALUES ($1, $2, $3)", token_hash(token), visitor.id, iso(now()))
            return visitor
        return await self.transaction(insert), token

    async def update_visitor(self, visitor: Visitor, details: VisitorDetails) -> Visitor:
        """Fill in what the visitor told (nothing new told: no write)."""
        if all(details.get(k) in (None, "", getattr(visitor, k)) for k in DETAILS):
            return visitor
        return await self.transaction(lambda db: update_visitor(db, visitor.id, details))

    async def verify_visitor(self, visitor: Visitor, token: str, user_id: str, email: str,
                             name: str | None) -> Visitor:
        return await self.transaction(
            lambda db: verify(db, visitor.id, token, user_id, email, name))

    async def visitor(self, visitor_id: str) -> Visitor | None:
        row = await self._one(rows.VISITOR_SELECT + "WHERE v.id = $1", visitor_id)
        return records.visitor(row) if row else None
