"""Around each phase: the target's counters (over SIGUSR1, bench/stats.py) before and after,
the machine's TCP trouble counters, and the server's profile when asked for."""

from __future__ import annotations

import contextlib
from typing import Any

from bench.targets import Profiler, Target


def net_counters() -> dict[str, int]:
    """Machine-wide TCP trouble counters (loopback included): retransmissions, timeouts,
    and connections the listen queue dropped."""
    wanted = {"RetransSegs", "ListenOverflows", "ListenDrops", "TCPTimeouts"}
    found: dict[str, int] = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        with contextlib.suppress(OSError), open(path) as f:
            lines = f.read().splitlines()
        for names, values in zip(lines[::2], lines[1::2], strict=False):
            for name, value in zip(names.split()[1:], values.split()[1:], strict=False):
                if name in wanted:
                    found[name] = int(value)
    return found


def stats_delta(before: dict[str, Any] | None, after: dict[str, Any] | None,
                net: dict[str, int]) -> dict[str, Any]:
    """What a phase cost in commits, garbage-collector pauses and TCP trouble."""
    delta: dict[str, Any] = {"tcp": {k: v - net.get(k, 0) for k, v in net_counters().items()}}
    if not before or not after:
        return delta
    gc_delta = {}
    for generation, stats in after["gc"].items():
        first = before["gc"][generation]
        gc_delta[f"gen{generation}"] = {
            "collections": stats["collections"] - first["collections"],
            "total_ms": round(stats["total_ms"] - first["total_ms"], 1),
            "max_ms": stats["max_ms"]}
    delta["server_gc"] = gc_delta
    if "batches" in after:
        delta["commits"] = after["batches"] - before["batches"]
    if "batch_thread" in after:  # the server's writer, timed by bench/serve.py
        thread = after["batch_thread"]
        delta["writer_thread_per_batch"] = thread
        if thread["operations"]:
            delta["writer_thread_cpu_us_per_write"] = round(
                thread["cpu_seconds"] / thread["operations"] * 1e6, 1)
    return delta


class Measured:
    """Around a phase: the server's profile (if asked), counters before and after."""

    def __init__(self, target: Target, profiler: Profiler, name: str) -> None:
        self.target = target
        self.profiler = profiler
        self.name = name
        self.extra: dict[str, Any] = {}

    async def __aenter__(self) -> Measured:
        self.net = net_counters()
        self.before = self.target.stats()
        self.profile = self.profiler.phase(self.name)
        self.profile.__enter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.profile.__exit__(None, None, None)
        self.extra = stats_delta(self.before, self.target.stats(), self.net)
