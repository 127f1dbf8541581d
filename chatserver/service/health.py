"""Whether this process can serve, as a load balancer asks: its database answers."""

from __future__ import annotations

import asyncio
import logging

from chatserver.config import Settings, bus_kind, database_kind
from chatserver.store import Store

log = logging.getLogger(__name__)

# A database that takes longer than this to answer one small read is as good as gone: a
# balancer's probe should hear so, not wait with it.
PROBE_SECONDS = 3.0


class Health:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.store = store
        self.backends = {"database": database_kind(settings.database_url),
                         "bus": bus_kind(settings.bus_url)}

    async def database_answers(self) -> bool:
        try:
            await asyncio.wait_for(self.store.setting("widget"), PROBE_SECONDS)
        except Exception as error:  # whatever the fault, this process cannot serve now
            log.warning("health: the database did not answer: %s", error or type(error))
            return False
        return True
