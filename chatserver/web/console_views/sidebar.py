"""The left column's other lists, rendered on the server: every open chat (supervisors and
admins), closed chats, search over transcripts and follow-ups (Mine and Queue, the live
lists, are `partials/inbox_live.html`). Each answers with its list and, out of band, its
tab's count; the page reads them again on the socket's news and every 15 or 30 s."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chatserver.domain import clock
from chatserver.domain.errors import Refused
from chatserver.web.auth import Session
from chatserver.web.console_views.base import changed, console_view, render
from chatserver.web.console_views.listing import (
    QUERY_LIMIT,
    follow_ups_count,
    listed,
    open_count,
    promised,
)
from chatserver.web.console_views.wording import AgentClock, sentence
from chatserver.web.services import services

LIST_LIMIT = 200  # the newest conversations a list shows
SEARCH_LIMIT = 50


async def conversations(request: Request, session: Session, view: str,
                        query: str = "") -> Response:
    """A view of the conversations (with `query`: the search results), or why not."""
    agent = session.agent
    status, error = 200, None
    try:
        rows = await services(request).console.inbox(
            view, agent, query or None, SEARCH_LIMIT if query else LIST_LIMIT)
    except Refused as refused:
        rows, status, error = [], refused.status, sentence(refused.message)
    # flagged as the supervisors' watch flags them: unanswered this long
    now, after = clock.now(), services(request).supervision.unanswered_after
    items = [listed(row, now, after, agent.id, query) for row in rows]
    return render(request, "partials/sidebar/conversations.html", session, status,
                  view=view, items=items, query=query, error=error, limit=SEARCH_LIMIT,
                  tab_count=open_count(items) if view == "open" else None,
                  **AgentClock.of(request).shown(now))


async def inbox(request: Request, session: Session) -> Response:
    """Mine and the queue: the agent's chats with what they have not read, and who waits in
    line."""
    agent, console = session.agent, services(request).console
    now, after = clock.now(), services(request).supervision.unanswered_after
    mine, queue = [[listed(row, now, after, agent.id)
                    for row in await console.inbox(view, agent, None, LIST_LIMIT)]
                   for view in ("mine", "queued")]
    return render(request, "partials/sidebar/inbox.html", session, mine=mine, queue=queue,
                  available=agent.status == "available",
                  unread=sum(item.row["unread"] for item in mine))


async def open_list(request: Request, session: Session) -> Response:
    """Every open chat, with its agent: for supervisors and admins."""
    return await conversations(request, session, "open")


async def closed_list(request: Request, session: Session) -> Response:
    return await conversations(request, session, "closed")


async def search(request: Request, session: Session) -> Response:
    """Conversations whose transcript or customer matches every word (an agent's own ones,
    everyone's for supervisors); nothing to show (204) for an empty box."""
    query = request.query_params.get("q", "").strip()[:QUERY_LIMIT]
    if not query:
        return Response(status_code=204)
    return await conversations(request, session, "all", query)


async def follow_ups(request: Request, session: Session, status: int = 200,
                     error: str | None = None, everyone: bool | None = None) -> Response:
    """Open follow-ups, soonest due first: mine, or everyone's for a supervisor who asks."""
    if everyone is None:
        everyone = request.query_params.get("all") == "1"
    try:
        found = await services(request).supervision.follow_ups(session.agent, everyone, False)
    except Refused as refused:
        found, status, error = [], refused.status, sentence(refused.message)
    now = clock.now()
    items = [promised(item, now) for item in found]
    return render(request, "partials/sidebar/follow_ups.html", session, status,
                  items=items, everyone=everyone, error=error,
                  tab_count=follow_ups_count(items), **AgentClock.of(request).shown(now))


async def follow_up_done(request: Request, session: Session) -> Response:
    """Mark a follow-up done; the list comes back without it (or with why not)."""
    everyone = (await request.form()).get("all") == "1"
    try:
        follow_up_id = int(request.path_params["id"])
        done = await services(request).supervision.complete_follow_up(session.agent,
                                                                      follow_up_id)
    except Refused as refused:
        return await follow_ups(request, session, refused.status,
                                f"Could not mark it done: {refused.message}.", everyone)
    response = await follow_ups(request, session, everyone=everyone)
    response.headers["HX-Trigger"] = changed(done["conversation_id"])
    return response


routes: list[BaseRoute] = [
    Route("/console/parts/sidebar/inbox", console_view(inbox)),
    Route("/console/parts/sidebar/open", console_view(open_list)),
    Route("/console/parts/sidebar/closed", console_view(closed_list)),
    Route("/console/parts/sidebar/search", console_view(search)),
    Route("/console/parts/sidebar/follow-ups", console_view(follow_ups)),
    Route("/console/parts/sidebar/follow-ups/{id:int}/done", console_view(follow_up_done),
          methods=["POST"]),
]
