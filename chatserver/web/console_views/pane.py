"""The conversation pane, rendered on the server for any conversation (the agent's own, or
read-only): its header with what this agent may do, the banner saying why it is read-only,
and the transcript; the newer messages alone, to append; and the plain HTTP acts on a chat
(claim, transfer, close) and on the agent (presence), each answered with what it changed."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chatserver.domain import clock
from chatserver.domain.attachments import size_label
from chatserver.domain.clock import parse
from chatserver.domain.models import Agent, Conversation, Message, Presence
from chatserver.service.errors import ChatError
from chatserver.web.auth import Session
from chatserver.web.console_views.base import console_view, render
from chatserver.web.console_views.conversation import due_choices
from chatserver.web.console_views.listing import QUERY_LIMIT, marked, span, visitor_name
from chatserver.web.console_views.transcript import after, last_numbers, shown, waiting_since
from chatserver.web.console_views.wording import AgentClock
from chatserver.web.services import services

PANE = "partials/conversation/pane.html"
MESSAGES = "partials/conversation/messages.html"
PRESENCE = "partials/conversation/presence.html"
TRANSFER = "partials/conversation/transfer.html"
DETAILS = "partials/conversation/details.html"
EMPTY = "partials/conversation/empty.html"
ACTS = ("claim", "transfer", "close")


def answers(agent: Agent, conversation: Conversation) -> bool:
    """The chat is `agent`'s to answer (and to transfer, close, follow up)."""
    return conversation.status == "active" and conversation.agent_id == agent.id


def banner(conversation: Conversation, agent: Agent, closed_at: str | None) -> str | None:
    """Why the pane is read-only for `agent`, or None when the chat is theirs to answer
    (`closed_at`: when it closed, as the agent's clock shows it)."""
    if conversation.status == "closed":
        handled = f"; {conversation.agent_name} handled it" if conversation.agent_name else ""
        return f"This chat is closed ({closed_at}){handled}. Read-only."
    if conversation.status == "queued":
        return "Waiting in the queue: read-only until you claim it."
    if conversation.agent_id == agent.id:
        return None
    notes = " and can add private notes" if agent.can_oversee else ""
    return (f"{conversation.agent_name or 'Another agent'} is handling this chat. "
            f"You see it read-only{notes}.")


def unparsed(value: str | None) -> int:
    """A sequence number from the query (`after=12`); 0 when absent."""
    try:
        return max(0, int(value or 0))
    except ValueError:
        raise ChatError("bad_request", "after must be a message number") from None


async def pane_context(request: Request, agent: Agent, conversation: Conversation,
                       messages: list[Message]) -> dict[str, Any]:
    """What the pane's template shows of `conversation`, for `agent`, now."""
    found = services(request)
    record = await found.console.record(conversation)
    visitor = record["conversation"]["visitor"]
    agent_clock, now = AgentClock.of(request), clock.now()
    mine = answers(agent, conversation)
    since = waiting_since(messages) if conversation.status != "closed" else None
    waited = now - parse(since) if since else None
    promises = [f for f in await found.supervision.follow_ups(agent, agent.can_oversee, False)
                if f["conversation_id"] == conversation.id]
    return {
        "conversation": conversation, "visitor": visitor,
        "name": visitor_name(visitor, conversation.id), "mine": mine,
        "may_write": mine or (agent.can_oversee and conversation.status != "closed"),
        "banner": banner(conversation, agent, conversation.closed_at
                         and agent_clock.moment(conversation.closed_at)),
        "targets": found.console.transfer_targets(agent.id) if mine else [],
        "queue_position": found.console.queue_position(conversation.id),
        "started": span(now - parse(conversation.created_at)),
        "waited": span(waited) if waited is not None else None,
        "flagged": waited is not None and waited >= found.supervision.unanswered_after,
        "promise": promises[0] if promises else None,
        "overdue": bool(promises) and parse(promises[0]["due_at"]) <= now,
        "items": shown(messages, conversation.visitor_read_seq, found.attachments.links),
        **last_numbers(messages),
        **transcript_context(request, now), **due_choices(request),
    }


def transcript_context(request: Request, now: float) -> dict[str, Any]:
    """What the transcript's template needs besides its items: the words searched for (`q`),
    to mark, and the agent's clock."""
    query = request.query_params.get("q", "")[:QUERY_LIMIT]
    return {"query": query, "marked": partial(marked, query=query), "size_label": size_label,
            **AgentClock.of(request).shown(now)}


async def conversation_pane(request: Request, session: Session, status: int = 200,
                            error: str | None = None) -> Response:
    """The pane of any conversation: mine to answer, anyone else's read-only."""
    conversation_id = int(request.path_params["id"])
    found = await services(request).console.transcript(conversation_id)
    if found is None:
        return render(request, PANE, session, 404, conversation=None,
                      error="That chat does not exist.")
    context = await pane_context(request, session.agent, *found)
    # The composer's canned responses (canned.js shows those the `/word` typed matches).
    canned = await services(request).console.canned() if context["may_write"] else []
    return render(request, PANE, session, status, error=error, canned=canned, **context)


async def details(request: Request, session: Session) -> Response:
    """The header's details of a chat, as they are now."""
    found = await services(request).console.transcript(int(request.path_params["id"]))
    if found is None:
        return Response(status_code=404)
    return render(request, DETAILS, session, **await pane_context(request, session.agent, *found))


async def newer_messages(request: Request, session: Session) -> Response:
    """The messages after `after` (a seq) and the notes after `after_note`, to append (all of
    them without), and the numbers to ask after next."""
    conversation_id = int(request.path_params["id"])
    try:
        seq = unparsed(request.query_params.get("after"))
        note_seq = unparsed(request.query_params.get("after_note"))
    except ChatError as error:
        return Response(error.message, 400, media_type="text/plain")
    found = await services(request).console.transcript(conversation_id)
    if found is None:
        return Response(status_code=404)
    conversation, messages = found
    links = services(request).attachments.links
    items = after(shown(messages, conversation.visitor_read_seq, links), seq, note_seq)
    return render(request, MESSAGES, session, items=items, oob=True, **last_numbers(messages),
                  **transcript_context(request, clock.now()))


async def empty_pane(request: Request, session: Session) -> Response:
    """The pane with no chat in it (narrow screens' Back)."""
    return render(request, EMPTY, session)


async def transfer_targets(request: Request, session: Session) -> Response:
    """The transfer menu of the agent's chat, with who is available now."""
    conversation = await services(request).console.conversation(int(request.path_params["id"]))
    if conversation is None:
        return Response(status_code=404)
    return render(request, TRANSFER, session, conversation=conversation,
                  targets=services(request).console.transfer_targets(session.agent.id)
                  if answers(session.agent, conversation) else [])


async def act(request: Request, session: Session) -> Response:
    """Claim, transfer (`to`: an agent's id, or `queue`) or close a chat, as the socket's
    frames do; the pane comes back as it is now, or with why not."""
    conversation_id, name = int(request.path_params["id"]), request.path_params["act"]
    if name not in ACTS:
        return Response(status_code=404)
    desk = services(request).agent_desk
    try:
        if name == "claim":
            await desk.claim(session.agent, conversation_id)
        elif name == "close":
            await desk.close(session.agent, conversation_id)
        else:
            to = str((await request.form()).get("to", ""))
            if to != "queue" and not to.isdigit():
                raise ChatError("bad_request", "pick an agent or the queue")
            await desk.transfer(session.agent, conversation_id,
                                None if to == "queue" else int(to))
    except ChatError as refused:
        return await conversation_pane(request, session, 409, refused.message)
    return await conversation_pane(request, session)


async def presence(request: Request, session: Session) -> Response:
    """Set the agent Available or Away; the topbar's switch comes back as it is now (as it
    is, for a GET: another tab may have changed it)."""
    if request.method == "GET":
        return render(request, PRESENCE, session, status_now=session.agent.status)
    wanted = str((await request.form()).get("status", ""))
    if wanted not in ("available", "away"):
        return Response("status is available or away", 400, media_type="text/plain")
    status: Presence = "available" if wanted == "available" else "away"
    agent = await services(request).agent_desk.presence(session.agent, status)
    return render(request, PRESENCE, session, status_now=agent.status)


routes: list[BaseRoute] = [
    Route("/console/parts/conversation/{id:int}", console_view(conversation_pane)),
    Route("/console/parts/conversation/{id:int}/messages", console_view(newer_messages)),
    Route("/console/parts/conversation/{id:int}/transfer", console_view(transfer_targets)),
    Route("/console/parts/conversation/{id:int}/details", console_view(details)),
    Route("/console/parts/conversation/{id:int}/{act:str}", console_view(act), methods=["POST"]),
    Route("/console/parts/presence", console_view(presence), methods=["GET", "POST"]),
    Route("/console/parts/empty", console_view(empty_pane)),
]
