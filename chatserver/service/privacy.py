"""A customer's data on request: everything held about them exported as one JSON document, or
erased (audited, final); and the retention period, which erases closed conversations older
than `RETENTION_DAYS` once a day, the same way (docs/privacy.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from chatserver.domain.clock import iso
from chatserver.domain.errors import Refused
from chatserver.domain.models import SYSTEM, Agent, Author, Message
from chatserver.service.announcer import Announcer
from chatserver.service.archives import archive, message_files
from chatserver.store import Store
from chatserver.store import clock as store_clock
from chatserver.store.base import PrivacyFacts

log = logging.getLogger(__name__)
FORMAT = "chatserver.customer-export/1"  # the export document's kind and version
DAY = 86400.0
# conversations erased per transaction: each merges SQLite's search index once (about 0.3 s
# per 300,000 messages, while chat writes wait), so not too few; not so many that one waits long
RETENTION_BATCH = 500
MAX_REASON_CHARS = 1000


def export_document(facts: PrivacyFacts) -> dict[str, Any]:
    """The export: facts only, in a fixed order (by id, messages as written), no figures
    computed at the time of asking, so one state of the data gives one document."""
    held = facts.customer
    by_chat: dict[int, list[Message]] = {}
    for message in facts.messages:
        by_chat.setdefault(message.conversation_id, []).append(message)
    return {
        "format": FORMAT,
        "customer": {k: held[k] for k in ("id", "email", "name", "external_user_id",
                                          "created_at", "verified")},
        "visitors": facts.visitors,
        # each message as agents see it (notes too: this is an admin's export); a message's
        # attachment rides with it there, and the files are listed by `conversation`
        "conversations": [conversation(c, by_chat.get(c["id"], []))
                          for c in facts.conversations],
        "orders": sorted(held["orders"], key=lambda o: o["id"]),
        "ledger": held["ledger"],
        "approvals": held["approvals"],
        "ratings": [{"conversation_id": c["id"], **c["rating"]}
                    for c in facts.conversations if c["rating"] is not None],
        "follow_ups": facts.follow_ups,
        "audit": held["audit"],
    }


def conversation(row: dict[str, Any], messages: list[Message]) -> dict[str, Any]:
    return {**row, "messages": [exported(m) for m in messages]}


def exported(message: Message) -> dict[str, Any]:
    """A message as agents see it, its attachment's facts without a url: a link kept in a
    file would expire (the file itself is served to the conversation's parties)."""
    frame = message.for_agent(lambda attachment_id: "")
    if "attachment" in frame:
        del frame["attachment"]["url"]
    return frame


def export_name(customer_id: int) -> str:
    return f"customer-{customer_id}-export.json"


def zipped(name: str, document: dict[str, Any], files: list[tuple[str, bytes]]) -> bytes:
    return archive([(name, orjson.dumps(document, option=orjson.OPT_INDENT_2)), *files])


def checked_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_CHARS:
        raise Refused(422, "invalid", f"give the erase's reason (1 to {MAX_REASON_CHARS} "
                      "characters): it is kept in the audit log")
    return reason


Closer = Callable[[int, Author], Awaitable[None]]  # closes a conversation, as its closer


class Privacy:
    def __init__(self, store: Store, announce: Announcer | None, retention_days: int,
                 close: Closer | None = None) -> None:
        """`announce` and `close`: None where no socket is served (the command line)."""
        self.store = store
        self.announce = announce
        self.close = close
        self.retention_days = retention_days
        self._task: asyncio.Task[None] | None = None

    async def export(self, customer_id: int) -> dict[str, Any]:
        return export_document(await self._facts(customer_id))

    async def export_zip(self, customer_id: int) -> bytes:
        """The export as a zip: its JSON document, and the files its messages carry
        (`attachments/<id>-<name>`), as a person asking for their data would want them."""
        facts = await self._facts(customer_id)
        files = await message_files(self.store, facts.messages)
        return await asyncio.to_thread(zipped, export_name(customer_id),
                                       export_document(facts), files)

    async def _facts(self, customer_id: int) -> PrivacyFacts:
        facts = await self.store.privacy_facts(customer_id)
        if facts is None:
            raise Refused(404, "not_found", "no such customer")
        return facts

    async def erase(self, customer_id: int, actor: Agent | None, reason: str) -> dict[str, Any]:
        """Erase the customer (Refused 404 unknown, 422 no reason): their open chats are
        closed first, by `actor` (where no server runs them, the command line: Refused 409
        while one is open); their visitors' open widgets are told and let go: their tokens
        no longer name anyone."""
        reason = checked_reason(reason)
        facts = await self.store.privacy_facts(customer_id) if self.close else None
        for held in facts.conversations if facts else []:
            if held["status"] != "closed" and self.close:
                await self.close(held["id"], Author("agent", actor.name) if actor else SYSTEM)
        erased = await self.store.erase_customer(customer_id, actor.id if actor else None,
                                                 reason)
        if erased is None:
            raise Refused(404, "not_found", "no such customer")
        if self.announce is not None:
            for visitor_id in erased.visitor_ids:
                self.announce.to_visitor(visitor_id, {"type": "erased"})
        return {"erased": {"customer_id": erased.customer_id,
                           "visitors": len(erased.visitor_ids),
                           "conversations": erased.conversation_ids}}

    # --- retention --------------------------------------------------------------------
    async def expire(self) -> list[int]:
        """Erase every closed conversation older than the retention period (by the store's
        clock); their ids. Nothing while retention is off."""
        if not self.retention_days:
            return []
        before = iso(store_clock.now() - self.retention_days * DAY)
        erased: list[int] = []
        while batch := await self.store.erase_closed_before(before, RETENTION_BATCH):
            erased += batch
        return erased

    def start(self) -> None:
        if self.retention_days:
            self._task = asyncio.get_running_loop().create_task(self._daily(), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _daily(self) -> None:
        while True:
            try:
                if erased := await self.expire():
                    log.info("retention: %d closed conversations erased", len(erased))
            except Exception:  # the database away: tomorrow's round tries again
                log.exception("retention failed")
            await asyncio.sleep(DAY)
