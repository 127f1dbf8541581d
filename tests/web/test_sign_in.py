"""Signing in to the console, as a guesser sees it: what a refusal costs and tells."""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher

from chatserver.domain.throttle import ACCOUNT, ADDRESS
from chatserver.web import auth, console
from tests.web.conftest import InProcessServer

PASSWORD = "pa55word-long"


class CountingHasher(PasswordHasher):
    """The server's password hasher, counting the verifications it makes."""

    verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The sign-in page's clock, stopped: it moves only when the test moves it."""
    at = [1_000_000.0]
    monkeypatch.setattr(console, "now", lambda: at[0])
    return at


def test_thirty_wrong_passwords_then_the_right_one_is_refused_for_a_while(
        server: InProcessServer, clock: list[float]) -> None:
    server.staff(("ann@example.com", "Ann", "agent"), password=PASSWORD)
    answers = [server.try_sign_in("ann@example.com", f"guess-{n}").status_code
               for n in range(30)]
    assert answers == [401] * ACCOUNT.free + [429] * (30 - ACCOUNT.free)

    refused = server.try_sign_in("ann@example.com", PASSWORD)
    assert refused.status_code == 429 and "chatserver_session" not in refused.cookies
    assert refused.headers["retry-after"] == "1"
    assert "Too many failed sign-ins. Please wait 1 second and try again." in refused.text

    clock[0] += 1
    signed_in = server.try_sign_in("ann@example.com", PASSWORD)
    assert signed_in.status_code == 303 and "chatserver_session" in signed_in.cookies


def test_one_address_trying_many_emails_is_refused_for_a_while(
        server: InProcessServer, clock: list[float]) -> None:
    server.staff(("ann@example.com", "Ann", "agent"), password=PASSWORD)
    answers = {server.try_sign_in(f"user{n}@example.com", "guess").status_code
               for n in range(ADDRESS.free)}
    assert answers == {401}
    refused = server.try_sign_in("ann@example.com", PASSWORD)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"


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
