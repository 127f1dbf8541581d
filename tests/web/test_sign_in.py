"""Signing in to the console, as a guesser sees it: what a refusal costs and tells."""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher

from chatserver.web import auth
from tests.web.conftest import InProcessServer

PASSWORD = "pa55word-long"


class CountingHasher(PasswordHasher):
    """The server's password hasher, counting the verifications it makes."""

    verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)


def test_every_refused_sign_in_costs_one_password_verification_known_email_or_not(
        server: InProcessServer, monkeypatch: pytest.MonkeyPatch) -> None:
    ada, _ = server.staff(("ada@example.com", "Ada", "admin"),
                          ("off@example.com", "Off", "agent"), password=PASSWORD)
    server.staff(("nia@example.com", "Nia", "agent"))  # API tokens only: no password
    [off_id] = [a["id"] for a in server.get("/api/agents", ada).json()["agents"]
                if a["name"] == "Off"]
    httpx.patch(f"{server.url}/api/agents/{off_id}", json={"disabled": True},
                headers={"Authorization": f"Bearer {ada}"}).raise_for_status()
    hasher = CountingHasher()
    monkeypatch.setattr(auth, "_hasher", hasher)

    costs = {}
    for email in ("ada@example.com", "nobody@example.com", "off@example.com",
                  "nia@example.com"):
        before = hasher.verifications
        assert server.sign_in(email, "a-wrong-guess") is None
        costs[email] = hasher.verifications - before
    assert set(costs.values()) == {1}, costs
