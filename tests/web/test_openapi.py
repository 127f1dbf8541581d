"""The REST API's OpenAPI description: valid, complete, served, and true to a few answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from openapi_spec_validator import validate

from chatserver.app import create_app
from chatserver.config import Settings
from chatserver.domain.frames import NO_NUL
from chatserver.web.openapi import api_routes, document, undescribed
from tests.conftest import chatserver
from tests.web.conftest import InProcessServer

API_REFERENCE = Path(__file__).parents[2] / "docs" / "api.md"


@pytest.fixture
def described(settings: Settings) -> dict[str, Any]:
    return document(create_app(settings).routes, "test")


def test_every_rest_route_is_described(settings: Settings) -> None:
    assert undescribed(create_app(settings).routes) == []


def test_the_description_is_valid_openapi(described: dict[str, Any]) -> None:
    validate(described)  # raises on an invalid document


def test_every_rest_route_is_in_the_description(settings: Settings,
                                                described: dict[str, Any]) -> None:
    routes = list(api_routes(create_app(settings).routes))
    assert len(routes) > 40
    for route, method in routes:
        path = route.path.replace("{id:int}", "{id}")
        assert method.lower() in described["paths"][path], f"{method} {path}"


def test_request_bodies_come_from_the_handlers_own_checks(described: dict[str, Any]) -> None:
    body = described["paths"]["/api/orders/{id}/refunds"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema["required"] == ["amount_cents", "reason"]
    assert schema["properties"]["reason"] == {"type": "string", "minLength": 1,
                                              "maxLength": 1000, "pattern": NO_NUL}


def test_the_description_is_served_without_a_token(server: InProcessServer) -> None:
    response = httpx.get(server.url + "/api/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"] == "3.1.0"
    assert "/api/health" in response.json()["paths"]


def test_described_refusals_are_the_real_ones(server: InProcessServer) -> None:
    described = httpx.get(server.url + "/api/openapi.json").json()["paths"]
    answers = [(httpx.get(server.url + "/api/agents"), described["/api/agents"]["get"]),
               (httpx.get(server.url + "/api/conversations/x", headers={
                   "Authorization": "Bearer " + server.agent("a@example.com", "A")}),
                described["/api/conversations/{id}"]["get"])]
    for response, operation in answers:
        assert str(response.status_code) in operation["responses"]
        assert set(response.json()) == {"error"}
        assert set(response.json()["error"]) == {"code", "message"}


def test_docs_api_md_is_what_the_generator_writes() -> None:
    written = chatserver("openapi", "--markdown")
    assert written.returncode == 0, written.stderr
    assert written.stdout == API_REFERENCE.read_text(), (
        "docs/api.md is stale: run `chatserver openapi --markdown > docs/api.md`")


def test_chatserver_openapi_prints_the_served_document(server: InProcessServer) -> None:
    printed = chatserver("openapi")
    assert printed.returncode == 0, printed.stderr
    assert orjson.loads(printed.stdout) == httpx.get(server.url + "/api/openapi.json").json()
