"""A visitor has a conversation's transcript emailed to them, within limits: a visitor mails
few transcripts, and an address receives few, whoever asks. Or they download their own copy:
their conversations as text, with the files sent in them."""

from __future__ import annotations

import asyncio

from chatserver.domain import emails
from chatserver.domain.clock import now
from chatserver.domain.errors import Refused
from chatserver.domain.frames import recipient
from chatserver.domain.models import Conversation, Message, Visitor
from chatserver.domain.transcript import visitor_copy
from chatserver.service.archives import archive, message_files
from chatserver.service.errors import ChatError
from chatserver.service.rate_windows import RateWindows, try_again_in
from chatserver.service.site import Site
from chatserver.store import Store


class Transcripts:
    def __init__(self, store: Store, site: Site, windows: RateWindows) -> None:
        self.store = store
        self.site = site
        self.windows = windows

    async def email(self, visitor: Visitor, email: str | None) -> tuple[int, str]:
        """Email the visitor's current (or last) conversation to them; returns where to."""
        to = self._recipient(email or visitor.email)
        if not self.site.email_enabled:
            raise ChatError("unavailable", "this server does not send email")
        conversation = await self.store.current_conversation(visitor.id)
        if conversation is None:
            raise ChatError("not_found", "there is no conversation to send")
        await self._count(visitor, to)
        if not await self._send(conversation.id, to):
            raise ChatError("unavailable", "the email could not be sent; try again later")
        return conversation.id, to

    async def own_text(self, visitor_id: str) -> tuple[int, str]:
        """The visitor's conversations as `transcript.txt`, and the latest one's id (to name
        the file by). Refused 404 when they have none."""
        chats = await self._own(visitor_id)
        return chats[-1][0].id, visitor_copy(self.site.title, chats)

    async def own_zip(self, visitor_id: str) -> tuple[int, bytes]:
        """`transcript.txt` and the files sent in those conversations, zipped."""
        chats = await self._own(visitor_id)
        files = await message_files(self.store, [m for _, ms in chats for m in ms])
        text = visitor_copy(self.site.title, chats).encode()
        return chats[-1][0].id, await asyncio.to_thread(
            archive, [("transcript.txt", text), *files])

    async def _own(self, visitor_id: str) -> list[tuple[Conversation, list[Message]]]:
        """This visitor's conversations, oldest first, with what they saw of them (never a
        note). Only their own: another visitor linked to the same customer is another
        device, and an unverified email must not open anyone's chats."""
        chats = await self.store.visitor_conversations(visitor_id)
        if not chats:
            raise Refused(404, "not_found", "there is no conversation to download")
        # each copy reads every file of every chat again: a visitor asks a few times, no more
        hit = await self.windows.downloads_by_visitor.hit(visitor_id, now())
        if not hit.allowed:
            raise Refused(429, "rate_limited", "too many transcripts downloaded; "
                          + try_again_in(hit.retry_after))
        return [(c, await self.store.messages(c.id, 0)) for c in chats]

    async def _send(self, conversation_id: int, to: str) -> bool:
        messages = await self.store.messages(conversation_id, 0)
        subject, body = emails.transcript(self.site.title, conversation_id, messages)
        return await self.site.mailer.send(to, subject, body, self.site.title)

    @staticmethod
    def _recipient(email: str | None) -> str:
        """The one address a transcript goes to (given now, or typed at hello)."""
        if not email:
            raise ChatError("bad_request", "give an email address to send the transcript to")
        try:
            return recipient(email)
        except ValueError as reason:
            raise ChatError("bad_request",
                            f"the address to send the transcript to {reason}") from None

    async def _count(self, visitor: Visitor, to: str) -> None:
        at = now()
        by_visitor = await self.windows.transcripts_by_visitor.hit(visitor.id, at)
        if not by_visitor.allowed:
            raise ChatError("rate_limited", "too many transcripts emailed; "
                            + try_again_in(by_visitor.retry_after))
        to_address = await self.windows.transcripts_to.hit(to.lower(), at)
        if not to_address.allowed:
            await by_visitor.undo()
            raise ChatError("rate_limited", "too many transcripts emailed to that address; "
                            + try_again_in(to_address.retry_after))
