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

These are the rules; where the failures are kept (this process, or Redis for several) is
`chatserver/signins/`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Failures:
    """A key's failures in a row, and when the last one was."""

    count: int
    last: float


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

    def current(self, found: Failures | None, now: float) -> Failures | None:
        """`found`, unless a quiet spell has made it forgotten."""
        if found is None or now - found.last >= self.forget_after:
            return None
        return found

    def wait(self, found: Failures | None, now: float) -> float:
        """Seconds the key stays locked."""
        current = self.current(found, now)
        if current is None:
            return 0.0
        return max(0.0, current.last + self.delay(current.count) - now)

    def failed(self, found: Failures | None, now: float) -> Failures:
        current = self.current(found, now)
        return Failures(current.count + 1 if current else 1, now)


ACCOUNT = Policy()
ADDRESS = Policy(free=20)


def account_key(email: str) -> str:
    """Accounts are one whatever the case their email is typed in."""
    return email.lower()


def wait_before_try(account: Failures | None, address: Failures | None, trusted: bool,
                    now: float) -> float:
    """Seconds before a try may be made, given the account's and the address's failures and
    whether the address has signed in to the account before; 0: try now."""
    waits = [ADDRESS.wait(address, now)]
    if not trusted:
        waits.append(ACCOUNT.wait(account, now))
    return max(waits)


def forgiven(found: Failures | None) -> Failures | None:
    """One failure taken back (a try counted before it turned out right)."""
    if found is None or found.count <= 1:
        return None
    return Failures(found.count - 1, found.last)
