"""What is particular to sign-in failures in Redis (their rules are test_sign_ins.py's):
every process on one URL counts the same failures, guesses sent to several at once are each
counted, and a process keeps counting on its own while Redis is away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from chatserver.domain.throttle import ACCOUNT
from chatserver.signins import SignIns, open_sign_ins
from tests.redis_urls import redis_url
from tests.signins.test_sign_ins import ANN, ATTACKER, OFFICE


@pytest.fixture
def sign_ins_url() -> str:
    return redis_url()


@pytest.fixture
async def another_process(sign_ins_url: str) -> AsyncIterator[SignIns]:
    opened = open_sign_ins(sign_ins_url)
    yield opened
    await opened.close()


async def test_guesses_spread_over_processes_lock_the_account_in_all_of_them(
        throttle: SignIns, another_process: SignIns) -> None:
    processes = [throttle, another_process]
    tries = [processes[n % 2].attempt(ANN, f"203.0.113.{n}", 0.0) for n in range(30)]
    waits = await asyncio.gather(*tries)  # all at once: each counted before the next
    assert sorted(waits) == [0.0] * ACCOUNT.free + [ACCOUNT.first_delay] * (30 - ACCOUNT.free)
    for process in processes:
        assert await process.attempt(ANN, ATTACKER, 0.0) == ACCOUNT.first_delay


async def test_an_address_trusted_by_one_process_is_trusted_by_the_others(
        throttle: SignIns, another_process: SignIns) -> None:
    assert await throttle.attempt(ANN, OFFICE, 0.0) == 0.0
    await throttle.succeeded(ANN, OFFICE, 0.0)
    for _ in range(ACCOUNT.free + 5):
        await another_process.attempt(ANN, ATTACKER, 1.0)
    assert await another_process.attempt(ANN, ATTACKER, 1.0) > 0
    assert await another_process.attempt(ANN, OFFICE, 1.0) == 0.0


async def test_without_redis_each_process_still_slows_a_guesser_down() -> None:
    throttle = open_sign_ins(redis_url("redis://127.0.0.1:1/0"))  # nothing listens there
    try:
        waits = [await throttle.attempt(ANN, ATTACKER, 0.0) for _ in range(ACCOUNT.free + 1)]
        assert waits == [0.0] * ACCOUNT.free + [ACCOUNT.first_delay]
    finally:
        await throttle.close()
