"""Client frames: what each socket accepts, the defaults it fills in, and the error codes."""

from __future__ import annotations

from email.headerregistry import Address
from typing import Any

import orjson
import pytest

from chatserver.domain.frames import (
    AGENT_FRAMES,
    VISITOR_FRAMES,
    FrameError,
    Spec,
    parse_frame,
    string,
)

MAX_TEXT = 4000  # the contract's default


def visitor(frame: Any) -> tuple[str, dict[str, Any]]:
    return parse_frame(orjson.dumps(frame), VISITOR_FRAMES, MAX_TEXT)


def agent(frame: Any) -> tuple[str, dict[str, Any]]:
    return parse_frame(orjson.dumps(frame), AGENT_FRAMES, MAX_TEXT)


def refusal(raw: str | bytes, spec: Spec = VISITOR_FRAMES, max_text: int = MAX_TEXT
            ) -> FrameError:
    with pytest.raises(FrameError) as refused:
        parse_frame(raw, spec, max_text)
    return refused.value


def visitor_refusal(frame: Any) -> FrameError:
    return refusal(orjson.dumps(frame), VISITOR_FRAMES)


def agent_refusal(frame: Any) -> FrameError:
    return refusal(orjson.dumps(frame), AGENT_FRAMES)


# --- valid frames ---------------------------------------------------------------------------

def test_bare_hello_fills_every_optional_field_with_null() -> None:
    assert visitor({"type": "hello"}) == ("hello", {
        "token": None, "conversation_id": None, "last_seq": None, "name": None,
        "email": None, "page": None, "timezone": None, "identity": None})


def test_full_hello_is_passed_through() -> None:
    frame = {"type": "hello", "token": "t" * 43, "conversation_id": 12, "last_seq": 5,
             "name": "Ada", "email": "ada@example.com", "page": "https://shop.example/cart",
             "timezone": "Europe/Paris",
             "identity": {"user_id": "u-1", "email": "ada@example.com", "ts": 1, "hash": "ab"}}

    kind, fields = visitor(frame)

    assert kind == "hello"
    assert fields == {k: v for k, v in frame.items() if k != "type"}


def test_hello_may_carry_empty_name_and_email_from_a_blank_pre_chat_form() -> None:
    _, fields = visitor({"type": "hello", "name": "", "email": ""})

    assert fields["name"] == "" and fields["email"] == ""


def test_visitor_message_is_accepted() -> None:
    assert visitor({"type": "message", "client_id": "c-1", "text": "Where is my order?"}) == (
        "message", {"client_id": "c-1", "text": "Where is my order?", "attachment_id": None})


def test_a_message_carrying_a_file_may_have_no_text() -> None:
    assert visitor({"type": "message", "client_id": "c-1", "attachment_id": 7}) == (
        "message", {"client_id": "c-1", "text": "", "attachment_id": 7})
    assert agent({"type": "message", "conversation_id": 3, "client_id": "a-1", "text": "",
                  "attachment_id": 7})[1]["attachment_id"] == 7


@pytest.mark.parametrize("frame", [
    {"type": "message", "client_id": "c-1"},
    {"type": "message", "client_id": "c-1", "text": ""},
    {"type": "message", "client_id": "c-1", "text": "", "attachment_id": None},
    {"type": "message", "client_id": "c-1", "attachment_id": 0},
    {"type": "message", "client_id": "c-1", "attachment_id": "7"},
])
def test_a_message_with_neither_text_nor_a_file_is_refused(frame: dict[str, Any]) -> None:
    assert refusal(orjson.dumps(frame)).code == "bad_request"


@pytest.mark.parametrize("frame, expected", [
    ({"type": "typing", "active": True}, {"active": True}),
    ({"type": "read", "seq": 0}, {"seq": 0}),
    ({"type": "rate", "score": 5}, {"score": 5, "comment": None}),
    ({"type": "rate", "score": 1, "comment": "slow"}, {"score": 1, "comment": "slow"}),
    ({"type": "close"}, {}),
    ({"type": "ping"}, {}),
])
def test_other_visitor_frames_are_accepted(frame: dict[str, Any], expected: dict[str, Any]
                                           ) -> None:
    assert visitor(frame) == (frame["type"], expected)


def test_extra_fields_are_ignored() -> None:
    assert visitor({"type": "ping", "nonce": 7}) == ("ping", {})


def test_agent_message_is_public_unless_marked_private() -> None:
    assert agent({"type": "message", "conversation_id": 3, "client_id": "a-1", "text": "Hi"}) == (
        "message", {"conversation_id": 3, "client_id": "a-1", "text": "Hi", "private": False,
                    "attachment_id": None})
    assert agent({"type": "message", "conversation_id": 3, "client_id": "a-2", "text": "note",
                  "private": True})[1]["private"] is True


@pytest.mark.parametrize("frame, expected", [
    ({"type": "presence", "status": "available"}, {"status": "available"}),
    ({"type": "presence", "status": "away"}, {"status": "away"}),
    ({"type": "typing", "conversation_id": 3, "active": True},
     {"conversation_id": 3, "active": True, "private": False}),
    ({"type": "read", "conversation_id": 3, "seq": 9}, {"conversation_id": 3, "seq": 9}),
    ({"type": "claim", "conversation_id": 3}, {"conversation_id": 3}),
    ({"type": "transfer", "conversation_id": 3, "to_agent_id": 8},
     {"conversation_id": 3, "to_agent_id": 8}),
    ({"type": "transfer", "conversation_id": 3, "to_agent_id": None},
     {"conversation_id": 3, "to_agent_id": None}),
    ({"type": "close", "conversation_id": 3}, {"conversation_id": 3}),
    ({"type": "sync", "conversation_id": 3}, {"conversation_id": 3, "last_seq": 0}),
    ({"type": "sync", "conversation_id": 3, "last_seq": 17}, {"conversation_id": 3,
                                                               "last_seq": 17}),
    ({"type": "ping"}, {}),
])
def test_agent_frames_are_accepted_with_defaults(frame: dict[str, Any], expected: dict[str, Any]
                                                 ) -> None:
    assert agent(frame) == (frame["type"], expected)


def test_frame_may_arrive_as_text_or_bytes() -> None:
    assert parse_frame('{"type": "ping"}', VISITOR_FRAMES, MAX_TEXT) == ("ping", {})
    assert parse_frame(b'{"type": "ping"}', VISITOR_FRAMES, MAX_TEXT) == ("ping", {})


# --- not a frame at all -------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "", "{", "hello", '{"type": "ping"', "{'type': 'ping'}", b"\xff\xfe", '{"type": NaN}',
])
def test_invalid_json_is_bad_request(raw: str | bytes) -> None:
    assert refusal(raw).code == "bad_request"


@pytest.mark.parametrize("raw", ['[{"type": "ping"}]', '"ping"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_bad_request(raw: str) -> None:
    assert refusal(raw).code == "bad_request"


@pytest.mark.parametrize("frame", [
    {"type": "shout"},
    {"type": "PING"},
    {"type": ""},
    {"type": None},
    {"type": 1},
    {"type": ["ping"]},
    {"text": "no type at all"},
])
def test_unknown_or_missing_type_is_bad_request(frame: dict[str, Any]) -> None:
    assert visitor_refusal(frame).code == "bad_request"


@pytest.mark.parametrize("frame", [
    {"type": "claim", "conversation_id": 1},
    {"type": "presence", "status": "available"},
    {"type": "transfer", "conversation_id": 1, "to_agent_id": None},
    {"type": "sync", "conversation_id": 1},
])
def test_agent_only_frames_are_unknown_on_the_visitor_socket(frame: dict[str, Any]) -> None:
    assert visitor_refusal(frame).code == "bad_request"


@pytest.mark.parametrize("frame", [{"type": "hello"}, {"type": "rate", "score": 5}])
def test_visitor_only_frames_are_unknown_on_the_agent_socket(frame: dict[str, Any]) -> None:
    assert agent_refusal(frame).code == "bad_request"


# --- missing and wrong fields ---------------------------------------------------------------

@pytest.mark.parametrize("frame", [
    {"type": "message", "text": "hi"},
    {"type": "typing"},
    {"type": "read"},
    {"type": "rate"},
    {"type": "rate", "comment": "great"},
])
def test_visitor_frame_missing_a_field_is_bad_request(frame: dict[str, Any]) -> None:
    assert visitor_refusal(frame).code == "bad_request"


@pytest.mark.parametrize("frame", [
    {"type": "presence"},
    {"type": "message", "client_id": "a-1", "text": "hi"},
    {"type": "message", "conversation_id": 1, "text": "hi"},
    {"type": "typing", "conversation_id": 1},
    {"type": "read", "conversation_id": 1},
    {"type": "claim"},
    {"type": "transfer", "to_agent_id": 2},
    {"type": "close"},
    {"type": "sync"},
])
def test_agent_frame_missing_a_field_is_bad_request(frame: dict[str, Any]) -> None:
    assert agent_refusal(frame).code == "bad_request"


def test_message_without_text_is_refused_with_its_client_id() -> None:
    refused = visitor_refusal({"type": "message", "client_id": "c-9"})

    assert (refused.code, refused.client_id) == ("bad_request", "c-9")


@pytest.mark.parametrize("frame", [
    {"type": "typing", "active": 1},
    {"type": "typing", "active": "true"},
    {"type": "typing", "active": None},
    {"type": "read", "seq": True},
    {"type": "read", "seq": -1},
    {"type": "read", "seq": 1.5},
    {"type": "read", "seq": "3"},
    {"type": "rate", "score": 0},
    {"type": "rate", "score": 6},
    {"type": "rate", "score": "5"},
    {"type": "rate", "score": 4.0},
    {"type": "rate", "score": 5, "comment": 10},
    {"type": "hello", "token": 123},
    {"type": "hello", "token": ""},
    {"type": "hello", "conversation_id": True},
    {"type": "hello", "conversation_id": 0},
    {"type": "hello", "conversation_id": "12"},
    {"type": "hello", "last_seq": -1},
    {"type": "hello", "identity": "u-1:ada@example.com"},
    {"type": "hello", "identity": ["u-1"]},
    {"type": "message", "client_id": 7, "text": "hi"},
    {"type": "message", "client_id": "c-1", "text": 7},
    {"type": "message", "client_id": "c-1", "text": None},
])
def test_visitor_field_of_the_wrong_type_or_range_is_bad_request(frame: dict[str, Any]) -> None:
    assert visitor_refusal(frame).code == "bad_request"


@pytest.mark.parametrize("frame", [
    {"type": "presence", "status": "busy"},
    {"type": "presence", "status": "Available"},
    {"type": "message", "conversation_id": 3, "client_id": "a-1", "text": "hi", "private": 1},
    {"type": "message", "conversation_id": 3, "client_id": "a-1", "text": "hi",
     "private": "yes"},
    {"type": "message", "conversation_id": "3", "client_id": "a-1", "text": "hi"},
    {"type": "typing", "conversation_id": 3, "active": 0},
    {"type": "claim", "conversation_id": 0},
    {"type": "claim", "conversation_id": -4},
    {"type": "claim", "conversation_id": True},
    {"type": "claim", "conversation_id": 3.0},
    {"type": "claim", "conversation_id": 2**60},
    {"type": "transfer", "conversation_id": 3, "to_agent_id": "bob"},
    {"type": "transfer", "conversation_id": 3, "to_agent_id": 0},
    {"type": "sync", "conversation_id": 3, "last_seq": None},
])
def test_agent_field_of_the_wrong_type_or_range_is_bad_request(frame: dict[str, Any]) -> None:
    assert agent_refusal(frame).code == "bad_request"


# --- text and client_id sizes ---------------------------------------------------------------

def test_text_of_4000_characters_is_accepted() -> None:
    _, fields = visitor({"type": "message", "client_id": "c-1", "text": "x" * 4000})

    assert len(fields["text"]) == 4000


def test_text_of_4001_characters_is_too_large_and_names_the_message() -> None:
    refused = visitor_refusal({"type": "message", "client_id": "c-1", "text": "x" * 4001})

    assert (refused.code, refused.client_id) == ("too_large", "c-1")


def test_agent_text_over_the_limit_is_too_large_too() -> None:
    refused = agent_refusal({"type": "message", "conversation_id": 3, "client_id": "a-1",
                             "text": "x" * 4001})

    assert (refused.code, refused.client_id) == ("too_large", "a-1")


def test_text_limit_counts_characters_not_bytes() -> None:
    _, fields = visitor({"type": "message", "client_id": "c-1", "text": "é" * 4000})

    assert len(fields["text"]) == 4000


def test_text_limit_follows_the_setting() -> None:
    raw = orjson.dumps({"type": "message", "client_id": "c-1", "text": "x" * 11})

    assert refusal(raw, max_text=10).code == "too_large"
    assert parse_frame(raw, VISITOR_FRAMES, 11)[1]["text"] == "x" * 11


def test_empty_text_is_bad_request_and_names_the_message() -> None:
    refused = visitor_refusal({"type": "message", "client_id": "c-1", "text": ""})

    assert (refused.code, refused.client_id) == ("bad_request", "c-1")


def test_whitespace_is_text_like_any_other() -> None:
    """The contract allows any 1 to 4000 characters."""
    assert visitor({"type": "message", "client_id": "c-1", "text": " \n"})[1]["text"] == " \n"


def test_client_id_of_64_characters_is_accepted() -> None:
    _, fields = visitor({"type": "message", "client_id": "c" * 64, "text": "hi"})

    assert fields["client_id"] == "c" * 64


@pytest.mark.parametrize("client_id", ["c" * 65, ""], ids=["65-chars", "empty"])
def test_client_id_outside_1_to_64_characters_is_bad_request(client_id: str) -> None:
    assert visitor_refusal({"type": "message", "client_id": client_id, "text": "hi"}
                           ).code == "bad_request"


# --- where a transcript may be emailed ------------------------------------------------------

@pytest.mark.parametrize("address", [
    "maya@example.com", "maya.lee+chat@mail.example.co.uk", "o'brien@example.ie",
    "ana@bücher.example", " maya@example.com\n"])
def test_one_plain_address_is_a_recipient_as_the_email_package_reads_it(address: str) -> None:
    _, fields = visitor({"type": "email_transcript", "email": address})
    assert fields["email"] == address.strip()
    assert Address(addr_spec=fields["email"]).addr_spec == fields["email"]


@pytest.mark.parametrize("address", [
    "a@example.com, b@example.com", "a@example.com,b@example.com", "a@example.com;b@x.example",
    "Maya <maya@example.com>", "<maya@example.com>", "maya(work)@example.com",
    '"maya"@example.com', "maya@example.com\r\nBcc: evil@example.com", "maya@localhost",
    "maya..lee@example.com", "maya@-example.com", "máya@example.com", "maya@[127.0.0.1]",
    "x" * 250 + "@b.co", 42])
def test_a_list_a_name_a_comment_or_a_line_break_is_no_recipient(address: object) -> None:
    error = visitor_refusal({"type": "email_transcript", "email": address})
    assert error.code == "bad_request"
    assert error.message == ("email_transcript: email must be one email address, like "
                             "maya@example.com")


def test_a_message_with_a_nul_character_is_a_bad_request() -> None:
    """PostgreSQL keeps no NUL in text: refused here alike on every backend."""
    with pytest.raises(FrameError) as refused:
        visitor({"type": "message", "client_id": "c1", "text": "hi\u0000"})
    assert (refused.value.code, refused.value.client_id) == ("bad_request", "c1")


def test_a_string_field_with_a_nul_character_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        string(10)("a\u0000b")
