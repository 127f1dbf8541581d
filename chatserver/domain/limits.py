"""Rate limits over a sliding window: more than `count` events in any `seconds` is too many."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable

from chatserver.config import Limit


class SlidingWindow:
    def __init__(self, limit: Limit, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> bool:
        """Count one event for `key` at `now` unless it would exceed the limit."""
        if self.limit.off:
            return True
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._forget_idle(now)
            hits = self._hits[key] = deque(maxlen=self.limit.count)
        cutoff = now - self.limit.seconds  # a hit at or before it has left the window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if len(hits) >= self.limit.count:
            return False
        hits.append(now)
        return True

    def wait(self, key: str, now: float) -> float:
        """Seconds from `now` until `key` may have one more event."""
        hits = self._hits.get(key)
        if self.limit.off or hits is None or len(hits) < self.limit.count:
            return 0.0
        return max(0.0, hits[0] + self.limit.seconds - now)

    def undo(self, key: str, at: float) -> None:
        """Take back the event counted at `at` (it turned out not to be a new one)."""
        hits = self._hits.get(key)
        if hits is not None and at in hits:
            hits.remove(at)

    def _forget_idle(self, now: float) -> None:
        """Bound memory: drop keys whose every hit has left the window."""
        cutoff = now - self.limit.seconds
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= cutoff]:
            del self._hits[key]


TYPING_REFRESH = 5.0  # seconds
TYPING_LIMIT = Limit(10, 10.0)


class TypingGate:
    """Which of one socket's `typing` frames are news to pass on: a change (the other state,
    or another conversation), or `active` repeated once `refresh` seconds have passed (the
    other side hides the indicator 20 s after the last one); never more than `limit` in its
    window. Typing is a hint: what is held back is dropped, not queued."""

    def __init__(self, refresh: float = TYPING_REFRESH, limit: Limit = TYPING_LIMIT) -> None:
        self.refresh = refresh
        self._window = SlidingWindow(limit, max_keys=1)
        self._last: tuple[Hashable, bool, float] | None = None  # what was passed on, when

    def admit(self, about: Hashable, active: bool, now: float) -> bool:
        """Whether to pass on `active` about `about` (a conversation) at `now`."""
        last = self._last
        if last is not None and last[:2] == (about, active) and (
                not active or now - last[2] < self.refresh):
            return False
        if not self._window.allow("typing", now):
            return False
        self._last = (about, active, now)
        return True
