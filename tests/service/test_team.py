"""Which account changes sign an agent out: those that take back what they signed in with
(a password) or the powers their open sockets were given (a role, being enabled)."""

from __future__ import annotations

from chatserver.domain.models import Agent
from chatserver.service.team import signs_out
from chatserver.store.base import AgentChanges

ANN = Agent(1, "ann@example.com", "Ann", "supervisor", 3, "online")


def changes(name: str | None = None, role: str | None = None, capacity: int | None = None,
            disabled: bool | None = None, password_hash: str | None = None) -> AgentChanges:
    return AgentChanges(name=name, role=role, capacity=capacity, disabled=disabled,
                        password_hash=password_hash)


def test_a_new_name_or_capacity_keeps_the_agent_signed_in() -> None:
    assert not signs_out(ANN, changes(name="Annie", capacity=5))


def test_the_same_role_again_keeps_the_agent_signed_in() -> None:
    assert not signs_out(ANN, changes(role="supervisor", disabled=False))


def test_a_new_role_signs_the_agent_out() -> None:
    assert signs_out(ANN, changes(role="agent"))


def test_a_new_password_signs_the_agent_out() -> None:
    assert signs_out(ANN, changes(password_hash="$argon2id$new"))


def test_disabling_signs_the_agent_out() -> None:
    assert signs_out(ANN, changes(disabled=True))
