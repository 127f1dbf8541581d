"""A NUL character (which PostgreSQL cannot keep in text) is refused alike on every backend,
never a 500 there (found by fuzzing tests/web/test_api_fuzz.py)."""

from __future__ import annotations

import httpx

from tests.web.conftest import InProcessServer


def test_a_field_with_a_nul_character_is_refused_as_invalid(server: InProcessServer) -> None:
    [admin] = server.staff(("admin@example.com", "Ada", "admin"))
    answer = httpx.post(server.url + "/api/canned", headers={"Authorization": f"Bearer {admin}"},
                        json={"shortcut": "hi", "text": "hello\u0000"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "invalid")
    assert "NUL" in answer.json()["error"]["message"]


def test_a_query_with_a_nul_character_is_refused_as_invalid(
        server: InProcessServer) -> None:
    [admin] = server.staff(("admin@example.com", "Ada", "admin"))
    api = {"Authorization": f"Bearer {admin}"}
    found = httpx.get(server.url + "/api/customers", params={"email": "a\u0000@b.co"},
                      headers=api)
    assert (found.status_code, found.json()["error"]["code"]) == (422, "invalid")
    searched = httpx.get(server.url + "/api/conversations",
                         params={"view": "all", "q": "x\u0000"}, headers=api)
    assert (searched.status_code, searched.json()["error"]["code"]) == (422, "invalid")
