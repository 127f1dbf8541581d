"""This server process in the registry every process shares (the database): registered at
start (under its host and port: its earlier self's connections, if it died unnoticed, go
at once), a heartbeat every `heartbeat_seconds`, each beat a sweep that forgets the processes
silent for `dead_after` seconds (their agents' grace period starts), removed at stop. And
the routing news between processes: a routing change's version published on the bus, on
which every desk refreshes its caches.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

from chatserver.bus import Event, Subscription, SubscriptionOverflow
from chatserver.config import database_kind

if TYPE_CHECKING:
    from chatserver.service.desk import Desk

log = logging.getLogger(__name__)
ROUTING = "routing"  # the bus topic of routing news; no socket hears it
HEARTBEAT_SECONDS = 2.0
DEAD_AFTER = 10.0  # seconds without a heartbeat that make a process dead


class ServerLife:
    def __init__(self, desk: Desk, heartbeat_seconds: float, dead_after: float) -> None:
        self.desk = desk
        self.heartbeat_seconds = heartbeat_seconds
        self.dead_after = dead_after
        self.process_id: int | None = None
        self._news: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._news = await self.desk.announce.bus.subscribe([ROUTING])
        settings = self.desk.settings
        name = f"{socket.gethostname()}:{settings.port}"  # the same when restarted
        self.process_id = await self.desk.store.register_process(name)
        # the picture, and the grace periods of agents left by whatever died, this
        # server's earlier self included: no agent connected elsewhere is disturbed
        await self.desk.sweep(self.dead_after, restarted=True)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._hear(), name="routing news")]
        if database_kind(settings.database_url) != "sqlite":
            # One process serves a SQLite database (config.py refuses a shared bus there):
            # no other process to notice, and its own timers keep the grace periods. Its
            # beat would read the whole routing picture every 2 s, the writer held meanwhile.
            self._tasks.append(loop.create_task(self._beat(), name="heartbeat"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._news is not None:
            self._news.close()
        if self.process_id is not None:
            await self.desk.end_process(self.process_id)
            self.process_id = None

    def publish(self, version: int) -> None:
        self.desk.announce.bus.publish(ROUTING, Event({"type": "routing", "version": version}))

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                assert self.process_id is not None
                if not await self.desk.store.heartbeat(self.process_id):
                    log.warning("this process was taken for dead (no heartbeat for %s s): "
                                "its agents' connections are recorded again", self.dead_after)
                    await self.desk.reconnect_all()
                await self.desk.sweep(self.dead_after)
            except Exception:
                log.exception("the heartbeat failed; trying again")

    async def _hear(self) -> None:
        while True:
            assert self._news is not None
            try:
                event = await self._news.get()
                await self.desk.refresh(int(event.frame["version"]))
            except SubscriptionOverflow:  # fell behind, or the bus lost its link
                await self._hear_again()
            except Exception:
                log.exception("refreshing the routing picture failed")

    async def _hear_again(self) -> None:
        """Subscribe again (waiting for the bus to come back), then read the picture: news
        may have been missed meanwhile. (The sweep reads it every beat anyway.)"""
        while True:
            try:
                assert self._news is not None
                self._news.close()
                self._news = await self.desk.announce.bus.subscribe([ROUTING])
                break
            except Exception:
                log.warning("routing news cannot be heard; trying again", exc_info=True)
                await asyncio.sleep(self.heartbeat_seconds)
        await self.desk.refresh(self.desk.version + 1)
