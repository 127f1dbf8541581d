"""Sign-in throttling per account and per address (chatserver/domain/throttle.py), run against
every backend of chatserver/signins. Time is passed in."""

from __future__ import annotations

from chatserver.domain.throttle import ACCOUNT, ADDRESS
from chatserver.signins import SignIns

ANN = "ann@example.com"
OFFICE, ATTACKER = "198.51.100.7", "203.0.113.9"


async def guesses(throttle: SignIns, count: int, at: float = 0.0, email: str = ANN,
                  address: str = ATTACKER) -> list[float]:
    """`count` wrong passwords tried at once: the wait each was told (0: it was tried)."""
    return [await throttle.attempt(email, address, at) for _ in range(count)]


async def test_thirty_wrong_passwords_leave_the_account_locked_for_the_right_one(
        throttle: SignIns) -> None:
    waits = await guesses(throttle, 30)
    assert waits == [0.0] * ACCOUNT.free + [ACCOUNT.first_delay] * (30 - ACCOUNT.free)
    assert await throttle.attempt(ANN, ATTACKER, 0.0) == ACCOUNT.first_delay  # the right one


async def test_each_failure_after_the_free_ones_doubles_the_lock_up_to_five_minutes(
        throttle: SignIns) -> None:
    await guesses(throttle, ACCOUNT.free - 1)
    at, locks = 0.0, []
    for _ in range(12):  # a guess as soon as the lock lets it
        assert await throttle.attempt(ANN, ATTACKER, at) == 0.0
        locks.append(await throttle.attempt(ANN, ATTACKER, at))
        at += locks[-1]
    assert locks[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert max(locks) == locks[-1] == ACCOUNT.max_delay == 300.0


async def test_a_lock_ends_on_time_and_tries_it_refused_did_not_count(throttle: SignIns) -> None:
    await guesses(throttle, ACCOUNT.free, at=100.0)
    assert await throttle.attempt(ANN, ATTACKER, 100.5) == 0.5
    assert await throttle.attempt(ANN, ATTACKER, 101.0) == 0.0
    assert await throttle.attempt(ANN, ATTACKER, 101.0) == 2.0


async def test_an_address_that_signed_in_before_is_not_kept_out_by_a_locked_account(
        throttle: SignIns) -> None:
    await throttle.attempt(ANN, OFFICE, 0.0)
    await throttle.succeeded(ANN, OFFICE, 0.0)
    await guesses(throttle, 50, at=10.0)
    assert await throttle.attempt(ANN, ATTACKER, 10.0) > 0
    assert await throttle.attempt(ANN, OFFICE, 10.0) == 0.0
    assert await throttle.attempt("bob@example.com", OFFICE, 10.0) == 0.0


async def test_one_address_guessing_many_accounts_is_locked_but_others_are_not(
        throttle: SignIns) -> None:
    for n in range(ADDRESS.free):
        assert await throttle.attempt(f"user{n}@example.com", ATTACKER, 0.0) == 0.0
    assert await throttle.attempt("someone-new@example.com", ATTACKER, 0.0) == ADDRESS.first_delay
    assert await throttle.attempt("someone-new@example.com", OFFICE, 0.0) == 0.0


async def test_a_success_clears_the_accounts_failures_and_is_no_failure_of_its_address(
        throttle: SignIns) -> None:
    await guesses(throttle, ACCOUNT.free - 1, address=OFFICE)
    await throttle.attempt(ANN, OFFICE, 0.0)
    await throttle.succeeded(ANN, OFFICE, 0.0)
    assert await guesses(throttle, ACCOUNT.free, address="192.0.2.1") == [0.0] * ACCOUNT.free
    for n in range(ADDRESS.free - ACCOUNT.free):  # with the office's 4 wrong ones: 19 failures
        assert await throttle.attempt(f"user{n}@example.com", OFFICE, 0.0) == 0.0, n
    assert await throttle.attempt("one-more@example.com", OFFICE, 0.0) == 0.0
    assert await throttle.attempt("one-more@example.com", OFFICE, 0.0) > 0


async def test_failures_are_forgotten_after_a_quiet_spell_and_the_email_case_does_not_matter(
        throttle: SignIns) -> None:
    await guesses(throttle, ACCOUNT.free + 3)
    assert await throttle.attempt(ANN.upper(), "192.0.2.1", 0.0) > 0
    assert await guesses(throttle, ACCOUNT.free, at=ACCOUNT.forget_after) == [0.0] * ACCOUNT.free
