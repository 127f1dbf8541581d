"""Client frames: parse and check one socket frame against the protocol, or say what is wrong.

A frame that fails here gets an `error` frame and changes nothing: the sockets store only
what this module has accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

MISSING = object()


class FrameError(Exception):
    def __init__(self, code: str, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id


Check = Callable[[Any], Any]  # returns the clean value or raises ValueError(reason)


def with_schema(check: Check, schema: dict[str, Any]) -> Check:
    """`check` labelled with the JSON Schema of what it accepts, so that the REST API's
    description (web/api_schemas.py) is read from the same declaration and cannot drift."""
    check.__dict__["json_schema"] = schema
    return check


def schema_of(check: Check) -> dict[str, Any]:
    """What `check` accepts as JSON Schema ({}: anything, when it was never labelled)."""
    return dict(getattr(check, "json_schema", {}))


def string(max_len: int, min_len: int = 1) -> Check:
    def check(v: Any) -> str:
        if not isinstance(v, str) or not min_len <= len(v) <= max_len:
            raise ValueError(f"must be a string of {min_len} to {max_len} characters")
        return no_nul(v)
    return with_schema(check, {"type": "string", "minLength": min_len, "maxLength": max_len,
                               "pattern": NO_NUL})


NO_NUL = "^[^\\u0000]*$"  # no_nul's rule as a JSON Schema pattern


def no_nul(text: str) -> str:
    """`text`, unless it holds a NUL character: PostgreSQL keeps no NUL in its text (it
    would fail there and not in SQLite), and no person types one."""
    if "\x00" in text:
        raise ValueError("must not contain a NUL character (\\u0000)")
    return text


EMAIL = re.compile(r"[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+")


def email(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 320 or not EMAIL.fullmatch(value.strip()):
        raise ValueError("must be an email address")
    return value.strip()


with_schema(email, {"type": "string", "format": "email", "maxLength": 320})


ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# one mailbox, nothing else: a dot-atom before the @ and a domain name after it
MAILBOX = re.compile(rf"{ATOM}(?:\.{ATOM})*@[^\W_][\w-]*(?:\.[^\W_][\w-]*)+")


def recipient(value: Any) -> str:
    """An address mail may go to: exactly one mailbox, so no list, display name, comment,
    quoted part or line break (each let one typed email reach others)."""
    address = value.strip() if isinstance(value, str) else ""
    if len(address) > 254 or not MAILBOX.fullmatch(address):
        raise ValueError("must be one email address, like maya@example.com")
    return address


with_schema(recipient, {"type": "string", "format": "email", "maxLength": 254})


def nullable(inner: Check) -> Check:
    return with_schema(lambda v: None if v is None else inner(v),
                       {"anyOf": [schema_of(inner), {"type": "null"}]})


def integer(minimum: int = 0, maximum: int = 2**53) -> Check:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not minimum <= v <= maximum:
            raise ValueError(f"must be a whole number from {minimum} to {maximum}")
        return v
    return with_schema(check, {"type": "integer", "minimum": minimum, "maximum": maximum})


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("must be true or false")
    return v


with_schema(boolean, {"type": "boolean"})


def one_of(*choices: str) -> Check:
    def check(v: Any) -> str:
        if v not in choices:
            raise ValueError("must be one of " + ", ".join(choices))
        return str(v)
    return with_schema(check, {"enum": list(choices)})


def obj(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ValueError("must be an object")
    return v


with_schema(obj, {"type": "object"})


CLIENT_ID = string(64)
TEXT = object()  # checked by the parser: its limit is a setting, and too long is `too_large`
ID = integer(1)

# field -> (check, required, default); a Spec gives the Fields of each frame type
Fields = dict[str, tuple[Any, bool, Any]]
Spec = dict[str, Fields]

VISITOR_FRAMES: Spec = {
    "hello": {
        "token": (nullable(string(256)), False, None),
        "conversation_id": (nullable(ID), False, None),
        "last_seq": (nullable(integer(0)), False, None),
        "name": (nullable(string(200, 0)), False, None),
        "email": (nullable(string(320, 0)), False, None),
        "page": (nullable(string(2000, 0)), False, None),
        "timezone": (nullable(string(64, 0)), False, None),
        "identity": (nullable(obj), False, None),
    },
    "message": {"client_id": (CLIENT_ID, True, None), "text": (TEXT, False, ""),
                "attachment_id": (nullable(ID), False, None)},
    "typing": {"active": (boolean, True, None)},
    "read": {"seq": (integer(0), True, None)},
    "rate": {"score": (integer(1, 5), True, None),
             "comment": (nullable(string(2000, 0)), False, None)},
    "close": {},
    "ping": {},
    "email_transcript": {"email": (nullable(recipient), False, None)},
}

AGENT_FRAMES: Spec = {
    "presence": {"status": (one_of("available", "away"), True, None)},
    "message": {"conversation_id": (ID, True, None), "client_id": (CLIENT_ID, True, None),
                "text": (TEXT, False, ""), "private": (boolean, False, False),
                "attachment_id": (nullable(ID), False, None)},
    "typing": {"conversation_id": (ID, True, None), "active": (boolean, True, None),
               "private": (boolean, False, False)},
    "read": {"conversation_id": (ID, True, None), "seq": (integer(0), True, None)},
    "claim": {"conversation_id": (ID, True, None)},
    "transfer": {"conversation_id": (ID, True, None), "to_agent_id": (nullable(ID), False, None)},
    "close": {"conversation_id": (ID, True, None)},
    "sync": {"conversation_id": (ID, True, None), "last_seq": (integer(0), False, 0)},
    "escalate": {"conversation_id": (ID, True, None), "note": (nullable(string(1000, 0)),
                                                               False, None)},
    "ping": {},
}


def parse_frame(raw: str | bytes, spec: Spec, max_text: int) -> tuple[str, dict[str, Any]]:
    """The frame's type and its checked fields (defaults filled in); raises FrameError."""
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise FrameError("bad_request", "the frame is not valid JSON") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_request", "a frame is a JSON object with a type")
    kind = frame.get("type")
    fields = spec.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise FrameError("bad_request", f"unknown frame type {kind!r}")
    clean = check_fields(frame, fields, str(kind), max_text)
    if kind == "message" and not clean["text"] and clean["attachment_id"] is None:
        raise FrameError("bad_request", "text must be a non-empty string (it may be empty "
                         "only when the message carries an attachment_id)", clean["client_id"])
    return str(kind), clean


def check_fields(data: dict[str, Any], fields: Fields, context: str,
                 max_text: int = 4000) -> dict[str, Any]:
    """The fields of `data` that `fields` names, checked, with defaults filled in."""
    client_id = data.get("client_id") if isinstance(data.get("client_id"), str) else None
    clean: dict[str, Any] = {}
    for name, (check, required, default) in fields.items():
        value = data.get(name, MISSING)
        if value is MISSING:
            if required:
                raise FrameError("bad_request", f"{context}: {name} is missing", client_id)
            clean[name] = default
        elif check is TEXT:
            clean[name] = _text(value, max_text, client_id)
        else:
            try:
                clean[name] = check(value)
            except ValueError as reason:
                raise FrameError("bad_request", f"{context}: {name} {reason}",
                                 client_id) from None
    return clean


def _text(value: Any, max_text: int, client_id: str | None) -> str:
    if not isinstance(value, str):  # empty only with an attachment: parse_frame checks
        raise FrameError("bad_request", "text must be a string", client_id)
    if len(value) > max_text:
        raise FrameError("too_large", f"text is over {max_text} characters", client_id)
    if "\x00" in value:
        raise FrameError("bad_request", "text must not contain a NUL character", client_id)
    return value
