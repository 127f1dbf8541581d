"""The shared parts of the REST API's description (web/openapi.py): the error shape as
http.error_response writes it, the records the endpoints answer with, who may call what,
and request bodies read from the handlers' own `Fields`."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, get_args

from chatserver.domain.frames import NO_NUL, TEXT, Fields, schema_of
from chatserver.domain.models import ROLES, Status

INTRODUCTION = (
    "JSON in and out. Errors are `{\"error\": {\"code\", \"message\"}}` with a 4xx or 5xx "
    "status. Agents call with `Authorization: Bearer <token>` (or the console's session "
    "cookie with its `X-CSRF-Token` on changes). Reading this description needs no token. "
    "The visitor's and agent's sockets are not REST: docs/protocol.md describes them.")


@dataclass(frozen=True)
class Answer:
    """One documented response: what it means, and its body (None: no body)."""

    description: str
    schema: dict[str, Any] | None = None
    media_type: str = "application/json"
    headers: tuple[str, ...] = ()


def api_version() -> str:
    try:
        return version("chatserver")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0"


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def body_schema(body: Fields | dict[str, Any]) -> dict[str, Any]:
    """A JSON object schema from a handler's Fields (or `body` itself when it is a schema)."""
    if not all(isinstance(spec, tuple) for spec in body.values()) or not body:
        return dict(body)
    properties = {name: {"type": "string"} if check is TEXT else schema_of(check)
                  for name, (check, _required, _default) in body.items()}
    required = [name for name, (_check, needed, _default) in body.items() if needed]
    return {"type": "object", "properties": properties, "required": required}


def record(**properties: dict[str, Any]) -> dict[str, Any]:
    """One record: the fields named here are always there; others may be too."""
    return {"type": "object", "required": list(properties), "properties": properties}


def envelope(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """`{name: schema}`, the shape most answers take."""
    return {"type": "object", "required": [name], "properties": {name: schema}}


def listing(name: str, item: str) -> dict[str, Any]:
    return envelope(name, {"type": "array", "items": ref(item)})


OBJECT = {"type": "object"}
INTEGER = {"type": "integer"}
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
QUERY_TEXT = {"type": "string", "pattern": NO_NUL}  # http.query_text
# a path's {id}: anything but a positive number of at most 18 digits names nothing (404)
PATH_ID = {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}


def maybe(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def array(item: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(item)}


def with_record(key: str, component: str) -> dict[str, Any]:
    """commerce_api.record_body's answer: the record's fields, and the record under `key`."""
    return {"allOf": [ref(component), envelope(key, ref(component))]}


STATUSES = get_args(Status)


NAMED = record(id=INTEGER, name=STRING)
CUSTOMER = record(id=INTEGER, email=STRING, name=maybe(STRING), created_at=TIME,
                  verified=BOOLEAN)
COMPONENTS: dict[str, dict[str, Any]] = {
    "Error": envelope("error", record(code=STRING, message=STRING)),
    "Conversation": record(id=INTEGER, status={"enum": list(STATUSES)}, created_at=TIME,
                           closed_at=maybe(TIME), customer_id=maybe(INTEGER), visitor=OBJECT),
    "Message": {**record(conversation_id=INTEGER, author=record(role=STRING, name=STRING),
                         text=STRING, at=TIME, private=BOOLEAN),
                "description": "A message has `seq`; a private note has `note_seq` instead."},
    "Customer": CUSTOMER,
    "CustomerRecord": {"allOf": [CUSTOMER, record(orders=array("Order"),
                                                  ledger=array("LedgerEntry"))]},
    "Order": record(id=INTEGER, external_id=STRING, customer_id=INTEGER, email=STRING,
                    product=STRING, amount_cents=INTEGER, currency=STRING,
                    refunded_cents=INTEGER, refundable_cents=INTEGER),
    "LedgerEntry": record(id=INTEGER, kind={"enum": ["refund", "credit"]}, customer_id=INTEGER,
                          amount_cents=INTEGER, currency=STRING, reason=STRING,
                          created_at=TIME, agent=maybe(NAMED)),
    "Approval": record(id=INTEGER),
    "Agent": record(id=INTEGER, email=STRING, name=STRING, role={"enum": list(ROLES)},
                    capacity=INTEGER, disabled=BOOLEAN),
    "NewToken": {**record(id=INTEGER, agent_id=maybe(INTEGER), label=maybe(STRING),
                          integration=BOOLEAN, token=STRING),
                 "description": "A token just made: its secret (`token`) is shown this once."},
    "Token": record(id=INTEGER, agent_id=maybe(INTEGER), label=maybe(STRING),
                    created_at=TIME, revoked_at=maybe(TIME), integration=BOOLEAN),
    "FollowUp": record(id=INTEGER, conversation_id=INTEGER, due_at=TIME, note=STRING,
                       created_at=TIME, done_at=maybe(TIME)),
    "Canned": record(id=INTEGER, shortcut=STRING, text=STRING),
    "WebhookEndpoint": record(id=INTEGER, url=STRING, events={"type": "array",
                                                              "items": STRING}),
    "Attachment": record(id=INTEGER, name=STRING, content_type=STRING, size=INTEGER,
                         url=STRING),
}

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API token (an agent's, or an integration's)."},
    "session": {"type": "apiKey", "in": "cookie", "name": "chatserver_session",
                "description": "The console's session; changes also need X-CSRF-Token."},
    "visitor": {"type": "apiKey", "in": "header", "name": "X-Visitor-Token",
                "description": "A widget visitor's token."},
}
AGENT_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]


@dataclass(frozen=True)
class Who:
    """Who may call an operation, and the refusals that follow from it."""

    who: str
    security: list[dict[str, list[str]]]
    refusals: dict[int, Answer] = field(default_factory=dict)


def _refusals(*statuses: int) -> dict[int, Answer]:
    meaning = {401: "No valid token (or session).",
               403: "The caller may not do this (role, integration token, CSRF)."}
    return {status: Answer(meaning[status], ref("Error")) for status in statuses}


def _who() -> dict[str, Who]:
    return {
        "public": Who("anyone, no token.", []),
        "agent": Who("an agent (any role); an integration token is refused.", AGENT_SECURITY,
                     _refusals(401, 403)),
        "supervisor": Who("a supervisor or an admin.", AGENT_SECURITY, _refusals(401, 403)),
        "admin": Who("an admin.", AGENT_SECURITY, _refusals(401, 403)),
        "agent_or_integration": Who("an agent or an integration token.", AGENT_SECURITY,
                                    _refusals(401, 403)),
        "uploader": Who("a visitor (X-Visitor-Token) or an agent.",
                        [{"visitor": []}, *AGENT_SECURITY], _refusals(401, 403)),
        "visitor": Who("a visitor, by their token (X-Visitor-Token).", [{"visitor": []}],
                       _refusals(401)),
        "signed_link": Who("whoever holds the signed link (expires and signature).", []),
        "signature": Who("the sender holding the shared secret: the body is signed "
                         "(see the headers).", [], _refusals(401)),
    }


AUTH = _who()
