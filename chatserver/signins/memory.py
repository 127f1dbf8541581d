"""Sign-in failures in this process's memory: right for one server process (`memory://`),
and what a Redis backend falls back to while Redis cannot be reached."""

from __future__ import annotations

from chatserver.domain.throttle import (
    ACCOUNT,
    ADDRESS,
    Failures,
    Policy,
    account_key,
    forgiven,
    wait_before_try,
)

MAX_KEYS = 100_000  # accounts, addresses and (account, address) pairs remembered, each


class Keys:
    """Failures per key, bounded: past `MAX_KEYS` the forgotten ones go, else the oldest."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.failures: dict[str, Failures] = {}

    def get(self, key: str) -> Failures | None:
        return self.failures.get(key)

    def put(self, key: str, found: Failures | None, now: float) -> None:
        if found is None:
            self.failures.pop(key, None)
            return
        if key not in self.failures and len(self.failures) >= MAX_KEYS:
            stale = [k for k, f in self.failures.items() if self.policy.current(f, now) is None]
            for old in stale or [next(iter(self.failures))]:
                del self.failures[old]
        self.failures[key] = found


class MemorySignIns:
    def __init__(self) -> None:
        self.accounts = Keys(ACCOUNT)
        self.addresses = Keys(ADDRESS)
        self.trusted: dict[tuple[str, str], None] = {}  # (account, address), oldest first

    async def attempt(self, email: str, address: str, now: float) -> float:
        account = account_key(email)
        found_account, found_address = self.accounts.get(account), self.addresses.get(address)
        wait = wait_before_try(found_account, found_address, (account, address) in self.trusted,
                               now)
        if wait == 0:
            self.accounts.put(account, ACCOUNT.failed(found_account, now), now)
            self.addresses.put(address, ADDRESS.failed(found_address, now), now)
        return wait

    async def succeeded(self, email: str, address: str, now: float) -> None:
        pair = (account_key(email), address)
        self.accounts.put(pair[0], None, now)
        self.addresses.put(address, forgiven(self.addresses.get(address)), now)
        self.trusted.pop(pair, None)
        if len(self.trusted) >= MAX_KEYS:
            del self.trusted[next(iter(self.trusted))]
        self.trusted[pair] = None

    async def close(self) -> None:
        pass
