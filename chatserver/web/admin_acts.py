"""What an admin changes (agents, canned responses, tokens, the widget, allowed origins),
shared by the REST API and the admin page's views: each act takes fields checked against
its spec below and refuses, as `Refused`, what a rule forbids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatserver.domain import webhooks
from chatserver.domain.frames import (
    ID,
    boolean,
    email,
    integer,
    nullable,
    one_of,
    string,
    with_schema,
)
from chatserver.domain.models import ROLES, Agent
from chatserver.domain.webhooks import event_names
from chatserver.service.errors import ChatError
from chatserver.service.services import Services
from chatserver.store.base import AgentAccount, AgentChanges, Canned, NewToken, NewWebhookEndpoint
from chatserver.web.auth import hash_password
from chatserver.web.http import ApiError


@dataclass(frozen=True)
class Limits:
    """The bounds of what an admin types: the checks below hold them, and the admin page's
    fields are rendered with them (maxlength, min, max)."""

    name: int = 100
    password: tuple[int, int] = (8, 200)
    capacity: tuple[int, int] = (0, 1000)
    default_capacity: int = 3
    shortcut: int = 40
    canned_text: int = 4000
    label: int = 100


LIMITS = Limits()
PASSWORD = nullable(string(LIMITS.password[1], LIMITS.password[0]))
NEW_AGENT = {
    "email": (email, True, None), "name": (string(LIMITS.name), True, None),
    "role": (one_of(*ROLES), False, "agent"),
    "capacity": (integer(*LIMITS.capacity), False, LIMITS.default_capacity),
    "password": (PASSWORD, False, None),
}
AGENT_CHANGES = {
    "name": (nullable(string(LIMITS.name)), False, None),
    "role": (nullable(one_of(*ROLES)), False, None),
    "capacity": (nullable(integer(*LIMITS.capacity)), False, None),
    "disabled": (nullable(boolean), False, None),
    "password": (PASSWORD, False, None),
}
CANNED = {"shortcut": (string(LIMITS.shortcut), True, None),
          "text": (string(LIMITS.canned_text), True, None)}
NEW_TOKEN = {"agent_id": (nullable(ID), False, None),
             "label": (nullable(string(LIMITS.label)), False, None),
             "integration": (boolean, False, False)}


def origins_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(o, str) for o in value):
        raise ValueError("must be a list of origins like https://shop.example")
    cleaned = [o.strip().rstrip("/").lower() for o in value if o.strip()]
    if any(not o.startswith(("http://", "https://")) or "/" in o.split("://", 1)[1]
           for o in cleaned):
        raise ValueError("must be origins like https://shop.example (no path)")
    return cleaned


with_schema(origins_list, {"type": "array", "items": {"type": "string", "format": "uri"}})
ORIGINS = {"origins": (origins_list, True, None)}
WEBHOOK_ENDPOINT = {"url": (string(webhooks.MAX_URL), True, None),
                    "events": (event_names, True, None)}


def admin_only(agent: Agent) -> None:
    if agent.role != "admin":
        raise ApiError(403, "forbidden", "this is for admins")


async def add_agent(found: Services, actor: Agent, body: dict[str, Any]) -> AgentAccount:
    password = body["password"]
    return await found.team.add_account(
        body["email"], body["name"], body["role"], body["capacity"],
        hash_password(password) if password else None, actor.id)


async def change_agent(found: Services, actor: Agent, agent_id: int, body: dict[str, Any],
                       session_id: str | None) -> AgentAccount:
    """Change an account; a change that signs the agent out keeps the actor's own session
    (`session_id`) when they change themselves."""
    password = body["password"]
    changes = AgentChanges(name=body["name"], role=body["role"], capacity=body["capacity"],
                           disabled=body["disabled"],
                           password_hash=hash_password(password) if password else None)
    if agent_id == actor.id and (changes["disabled"]
                                 or changes["role"] not in (None, "admin")):
        raise ApiError(409, "conflict", "an admin cannot disable or demote themselves")
    return await found.team.change_account(
        agent_id, changes, actor.id, kept=session_id if agent_id == actor.id else None)


async def add_canned(found: Services, body: dict[str, Any]) -> Canned:
    """A canned response; its shortcut is stored without the slash agents type, in lower case."""
    shortcut = body["shortcut"].lstrip("/").lower()
    if not shortcut.replace("-", "").isalnum():
        raise ApiError(422, "invalid", "a shortcut is letters, digits and dashes")
    return await found.console.add_canned(shortcut, body["text"])


async def create_token(found: Services, actor: Agent, body: dict[str, Any]) -> NewToken:
    """A token for oneself, for another agent (admins), or for the shop's systems (admins)."""
    agent_id = None if body["integration"] else body["agent_id"] or actor.id
    if agent_id != actor.id:
        admin_only(actor)
    if body["integration"] and body["agent_id"] is not None:
        raise ApiError(422, "invalid", "an integration token acts for no agent: give agent_id "
                       "or integration, not both")
    return await found.team.issue_token(agent_id, body["label"], actor.id)


async def change_widget(found: Services, changes: dict[str, Any]) -> dict[str, str]:
    try:
        return await found.site.set_widget_settings(changes)
    except ChatError as error:
        raise ApiError(422, "invalid", error.message) from None


async def add_webhook_endpoint(found: Services, body: dict[str, Any]) -> NewWebhookEndpoint:
    """An endpoint for the events named (body checked against WEBHOOK_ENDPOINT); its secret
    is in the answer."""
    return await found.webhooks.add_endpoint(body["url"].strip(), body["events"])
