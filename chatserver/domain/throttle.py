"""Sign-in throttling: wrong passwords slow a guesser down, per account and per address,
without letting a stranger keep an agent out for long.

`free` failures in a row of an account (or from an address) lock it for `first_delay`, and
each one after for twice as long as the one before, up to `max_delay`. A lock refuses every
try, the right password too, and tries it refuses are not failures. A try let through counts
as a failure at once and is taken back if it succeeds, so guesses sent together are each
counted before the next is let through. A key with no failure for `forget_after` starts
over, and a success clears its account's failures. An address that has signed in to an
account before is held back only by its own failures, not by the account's: whoever keeps an
account locked from elsewhere does not lock its agent out. An address allows more failures
than an account: one address may be a whole office. Time is passed in (seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_KEYS = 100_000  # accounts, addresses and (account, address) pairs remembered, each


@dataclass(frozen=True)
class Policy:
    free: int = 5
    first_delay: float = 1.0
    max_delay: float = 300.0
    forget_after: float = 900.0

    def delay(self, failures: int) -> float:
        """How long `failures` in a row lock a key."""
        if failures < self.free:
            return 0.0
        return min(self.max_delay, self.first_delay * 2.0 ** min(failures - self.free, 64))


ACCOUNT = Policy()
ADDRESS = Policy(free=20)


@dataclass
class Failures:
    count: int
    last: float


class Locks:
    """Failures in a row per key, and the lock they put on it."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._failures: dict[str, Failures] = {}

    def wait(self, key: str, now: float) -> float:
        found = self._current(key, now)
        if found is None:
            return 0.0
        return max(0.0, found.last + self.policy.delay(found.count) - now)

    def failed(self, key: str, now: float) -> None:
        found = self._current(key, now)
        if found is None:
            self._make_room(now)
            self._failures[key] = Failures(1, now)
        else:
            found.count, found.last = found.count + 1, now

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def forgive(self, key: str) -> None:
        """Take back one failure (a try counted before it turned out right)."""
        found = self._failures.get(key)
        if found is not None:
            found.count -= 1
            if found.count <= 0:
                del self._failures[key]

    def _current(self, key: str, now: float) -> Failures | None:
        found = self._failures.get(key)
        if found is not None and now - found.last >= self.policy.forget_after:
            del self._failures[key]
            return None
        return found

    def _make_room(self, now: float) -> None:
        """Bound memory: forget the keys past `forget_after`; if there are none, the oldest."""
        if len(self._failures) < MAX_KEYS:
            return
        stale = [k for k, f in self._failures.items()
                 if now - f.last >= self.policy.forget_after]
        for key in stale or [next(iter(self._failures))]:
            del self._failures[key]


class SignInThrottle:
    def __init__(self, account: Policy = ACCOUNT, address: Policy = ADDRESS) -> None:
        self.accounts = Locks(account)
        self.addresses = Locks(address)
        self._trusted: dict[tuple[str, str], None] = {}  # (account, address), oldest first

    def attempt(self, email: str, address: str, now: float) -> float:
        """Seconds before `address` may try to sign in as `email`; 0: try now, and the try
        counts as a failure until it `succeeded` (so tries made at once are counted at once)."""
        account = email.lower()
        waits = [self.addresses.wait(address, now)]
        if (account, address) not in self._trusted:
            waits.append(self.accounts.wait(account, now))
        if max(waits) > 0:
            return max(waits)
        self.addresses.failed(address, now)
        self.accounts.failed(account, now)
        return 0.0

    def succeeded(self, email: str, address: str) -> None:
        """The try was right: the account starts over and trusts this address."""
        pair = (email.lower(), address)
        self.accounts.clear(pair[0])
        self.addresses.forgive(address)
        self._trusted.pop(pair, None)
        if len(self._trusted) >= MAX_KEYS:
            del self._trusted[next(iter(self._trusted))]
        self._trusted[pair] = None
