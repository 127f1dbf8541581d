"""The Router as the database holds routing (a store's Picture): who is connected through
any process, what each agent chose, their loads, the queue in its order. Every routing
change starts from this, inside the routing lock, so no process decides on an old picture.
"""

from __future__ import annotations

from chatserver.domain.routing import Router
from chatserver.store.types import Picture


def router_of(picture: Picture) -> Router:
    router = Router()
    for agent in picture.agents:
        # a disabled agent is routed nothing, whatever they last chose
        slot = router.agent(agent.id, agent.capacity, "away" if agent.disabled else agent.status)
        slot.connections = picture.connections.get(agent.id, 0)
        slot.disconnected_at = picture.disconnected_at.get(agent.id)
        slot.last_assigned = picture.last_assigned.get(agent.id, 0.0)
    for conversation, rank in picture.open:
        if conversation.status == "queued":
            router.enqueue(conversation.id, rank if rank is not None else picture.now)
        elif conversation.agent_id in router.agents:
            router.restore(conversation.id, conversation.agent_id)
    return router
