"""The conversation pane: its header, the visitor's details, past chats and the transcript;
the follow-up and escalation sheets under the header post here and get their fields back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, tzinfo
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chatserver.domain import clock
from chatserver.domain.errors import Refused
from chatserver.domain.orders import timestamp
from chatserver.service.errors import ChatError
from chatserver.web.auth import Session
from chatserver.web.console_views.base import console_view, render
from chatserver.web.console_views.wording import AgentClock
from chatserver.web.services import services

VISITOR = "partials/conversation/visitor.html"
VISITOR_TIME = "partials/conversation/visitor_time.html"
FOLLOW_UP_FIELDS = "partials/conversation/follow_up_fields.html"
ESCALATE_FIELDS = "partials/conversation/escalate_fields.html"
NOTE_MAX = 1000
# The console's words for the services' refusals of a follow-up.
FOLLOW_UP_REFUSALS = {"invalid": "Pick a time in the future."}


class SheetError(Exception):
    """What to tell the agent, in place, about a sheet they sent."""


def conversation_of(form: FormData) -> int:
    try:
        return int(str(form.get("conversation_id", "")))
    except ValueError:
        raise SheetError("Pick a conversation first.") from None


def due_from(form: FormData, local: tzinfo) -> tuple[str, datetime]:
    """The follow-up's time as the agent's browser sent it, a datetime-local value on the
    agent's clock (`local`); returned as the API's UTC timestamp, and as the agent's local
    time to show."""
    unclear = SheetError("Pick the date and time you will answer by.")
    try:
        shown = datetime.fromisoformat(str(form.get("due", "")))
        utc = shown.replace(tzinfo=local).astimezone(UTC)
        return timestamp(utc.isoformat()), shown
    except (ValueError, OverflowError):  # empty, not a time, or outside the years allowed
        raise unclear from None


def due_choices(request: Request) -> dict[str, str]:
    """The follow-up sheet's default time (an hour from now, on the next quarter hour) and
    the earliest it allows (now), as datetime-local values on the agent's clock."""
    now = datetime.fromtimestamp(clock.now(), AgentClock.of(request).local)
    due = (now + timedelta(hours=1)).replace(second=0, microsecond=0)
    due += timedelta(minutes=-due.minute % 15)
    return {"default_due": f"{due:%Y-%m-%dT%H:%M}", "earliest_due": f"{now:%Y-%m-%dT%H:%M}"}


def day_time(moment: datetime) -> str:
    """`25 Nov, 14:05`."""
    return f"{moment.day} {moment:%b, %H:%M}"


def note_of(form: FormData, required: bool) -> str:
    note = str(form.get("note", "")).strip()
    if required and not note:
        raise SheetError("Add a short note: what did you promise?")
    if len(note) > NOTE_MAX:
        raise SheetError(f"The note is {NOTE_MAX} characters at most.")
    return note


def status_of(refused: Refused | ChatError) -> int:
    """A service's refusal as an HTTP status (a socket's ChatError: a conflict)."""
    return refused.status if isinstance(refused, Refused) else 409


def done(request: Request, template: str, session: Session, alert: str,
         conversation_id: int) -> Response:
    """The sheet's fields emptied; the page told to close it, to show `alert` and that the
    chat changed (its header shows a follow-up)."""
    response = render(request, template, session, 200, **due_choices(request))
    response.headers["HX-Trigger"] = json.dumps(
        {"console:alert": {"text": alert}, "console:sheet-done": {},
         "console:changed": {"conversationId": conversation_id}})
    return response


async def follow_up(request: Request, session: Session) -> Response:
    """Set a follow-up on the agent's chat, as POST /api/conversations/{id}/follow-ups."""
    form = await request.form()
    sent = {"due": form.get("due", ""), "note": form.get("note", "")}
    try:
        conversation_id = conversation_of(form)
        due_at, local = due_from(form, AgentClock.of(request).local)
        note = note_of(form, required=True)
        await services(request).supervision.follow_up(session.agent, conversation_id, due_at,
                                                      note)
    except SheetError as error:
        return render(request, FOLLOW_UP_FIELDS, session, 422, **sent, error=str(error),
                      **due_choices(request))
    except (Refused, ChatError) as refused:
        return render(request, FOLLOW_UP_FIELDS, session, status_of(refused), **sent,
                      error=FOLLOW_UP_REFUSALS.get(refused.code, refused.message),
                      **due_choices(request))
    return done(request, FOLLOW_UP_FIELDS, session,
                f"Follow-up set: answer by {day_time(local)}. The visitor was told.",
                conversation_id)


async def escalate(request: Request, session: Session) -> Response:
    """Ask every supervisor to join the agent's chat (the socket's `escalate` frame)."""
    form = await request.form()
    sent = {"note": form.get("note", "")}
    try:
        conversation_id = conversation_of(form)
        note = note_of(form, required=False)
        await services(request).supervision.escalate(session.agent, conversation_id,
                                                     note or None)
    except SheetError as error:
        return render(request, ESCALATE_FIELDS, session, 422, **sent, error=str(error))
    except (Refused, ChatError) as refused:
        return render(request, ESCALATE_FIELDS, session, status_of(refused), **sent,
                      error=refused.message)
    return done(request, ESCALATE_FIELDS, session, "Supervisors were asked to join the chat.",
                conversation_id)


def zone_label(zone: str | None) -> str | None:
    """`Tokyo · GMT+9` for `Asia/Tokyo` (its offset now); None for no zone or an unknown one."""
    try:
        offset = datetime.now(ZoneInfo(zone)).utcoffset() if zone else None
    except (ValueError, KeyError):  # not a zone name, or not one this server knows
        return None
    if offset is None:
        return None
    minutes = int(offset.total_seconds()) // 60
    hours, rest = divmod(abs(minutes), 60)
    shown = "GMT" if not minutes else (
        f"GMT{'-' if minutes < 0 else '+'}{hours}" + (f":{rest:02d}" if rest else ""))
    return f"{str(zone).rsplit('/', 1)[-1].replace('_', ' ')} · {shown}"


def local_time(zone: str | None, twelve_hours: bool) -> str | None:
    """The time now where the visitor is (`Thu 22:15`), on the agent's kind of clock."""
    try:
        at = datetime.fromtimestamp(clock.now(), ZoneInfo(zone or ""))
    except (ValueError, KeyError):  # no zone, or not one this server knows
        return None
    return f"{at:%a %I:%M %p}" if twelve_hours else f"{at:%a %H:%M}"


def page_link(page: str | None) -> dict[str, str] | None:
    """The visitor's page as a link (what to show, where to go) when it is a web address."""
    parts = urlsplit(page or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    path = "" if parts.path in ("", "/") else parts.path
    query = f"?{parts.query}" if parts.query else ""
    return {"href": str(page), "shown": parts.netloc + path + query}


async def visitor(request: Request, session: Session) -> Response:
    """The visitor strip of any conversation: local time, page, past conversations (with
    `only=time`: the local time alone)."""
    conversation_id = int(request.path_params["id"])
    template = VISITOR_TIME if request.query_params.get("only") == "time" else VISITOR
    found = await services(request).console.conversation(conversation_id)
    if found is None:  # the strip stays in place, saying nothing is known
        return render(request, template, session, 404, conversation_id=conversation_id,
                      visitor=None, zone_label=None, local_time=None, page_link=None,
                      history=[])
    record = await services(request).console.record(found)
    shown = record["conversation"]["visitor"]
    zone, agent_clock = shown and shown["timezone"], AgentClock.of(request)
    return render(request, template, session, conversation_id=conversation_id, visitor=shown,
                  zone_label=zone_label(zone),
                  local_time=local_time(zone, agent_clock.twelve_hours),
                  page_link=page_link(shown and shown["page"]), history=record["history"],
                  day_time=agent_clock.moment)


routes: list[BaseRoute] = [
    Route("/console/parts/conversation/{id:int}/visitor", console_view(visitor)),
    Route("/console/parts/conversation/follow-up", console_view(follow_up), methods=["POST"]),
    Route("/console/parts/conversation/escalate", console_view(escalate), methods=["POST"]),
]
