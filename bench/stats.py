"""Counters a process under test writes to a file on SIGUSR1 (the benchmark asks, it answers).

Both the chat server (bench/serve.py) and the floor (bench/floor.py) report the garbage
collector's pauses: a `gc.callbacks` timer counts collections and their total and longest
pause per generation. The longest pause restarts at every report, so two reports around a
phase give that phase's longest pause.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import Any


class GcPauses:
    """How long the cyclic garbage collector stops the process, per generation."""

    def __init__(self) -> None:
        self.started = 0.0
        self.stats = {g: {"collections": 0, "total_ms": 0.0, "max_ms": 0.0} for g in range(3)}

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        pause = (time.perf_counter() - self.started) * 1000
        stats = self.stats[info["generation"]]
        stats["collections"] += 1
        stats["total_ms"] = round(stats["total_ms"] + pause, 3)
        stats["max_ms"] = round(max(stats["max_ms"], pause), 3)

    def report(self) -> dict[int, dict[str, float]]:
        report = {g: dict(s) for g, s in self.stats.items()}
        for stats in self.stats.values():
            stats["max_ms"] = 0.0
        return report


def install(path: str, extra: Callable[[], dict[str, Any]] | None = None) -> None:
    """On SIGUSR1, write `{"gc": ..., **extra()}` to `path` (atomically)."""
    pauses = GcPauses()
    gc.callbacks.append(pauses)

    def dump(signum: int, frame: FrameType | None) -> None:
        stats = {"gc": pauses.report(), **(extra() if extra else {})}
        temporary = path + ".tmp"
        with open(temporary, "w") as out:
            json.dump(stats, out)
        os.replace(temporary, path)

    signal.signal(signal.SIGUSR1, dump)
