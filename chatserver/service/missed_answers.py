"""Nobody waits without knowing: answers a visitor left before reading are emailed to them.
(Not to be confused with follow-ups, an agent's promise to get back: see supervision.py.)"""

from __future__ import annotations

import asyncio

from chatserver.config import Settings
from chatserver.domain import emails
from chatserver.online import VisitorsOnline
from chatserver.service.site import Site
from chatserver.store import Store


class MissedAnswers:
    def __init__(self, settings: Settings, store: Store, site: Site,
                 online: VisitorsOnline) -> None:
        self.delay = settings.email_delay
        self.store = store
        self.site = site
        self.mailer = site.mailer
        self.online = online  # visitors with a socket open, in any process
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[bool]] = set()

    def answered(self, conversation_id: int) -> None:
        """An agent answered: if it is still unread after the delay and the visitor has
        gone, email it (one email for all the answers of that while)."""
        if self.mailer.enabled and conversation_id not in self._timers:
            self._timers[conversation_id] = asyncio.get_running_loop().call_later(
                self.delay, self._spawn, conversation_id)

    def _spawn(self, conversation_id: int) -> None:
        self._timers.pop(conversation_id, None)
        task = asyncio.get_running_loop().create_task(self.email_missed(conversation_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def email_missed(self, conversation_id: int) -> bool:
        conversation = await self.store.conversation(conversation_id)
        visitor = await self.store.visitor(conversation.visitor_id) if conversation else None
        if conversation is None or visitor is None or not visitor.email:
            return False
        if await self.online.online(visitor.id):
            return False  # they are reading it live
        seen = conversation.emailed_seq
        answers = [m for m in await self.store.messages(
            conversation_id, max(conversation.visitor_read_seq, seen))
                   if m.author.role == "agent"]
        if not answers:
            return False
        upto = answers[-1].seq or 0
        if not await self.store.claim_emailed(conversation_id, seen, upto):
            return False  # another server process is emailing them
        subject, body = emails.missed_answers(self.site.title, answers)
        if not await self.mailer.send(visitor.email, subject, body, self.site.title):
            await self.store.claim_emailed(conversation_id, upto, seen)  # the next answer tries
            return False
        return True

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
