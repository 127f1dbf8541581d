"""The machine a run measures on: its description, its disk's fsync, whether it is idle."""

from __future__ import annotations

import contextlib
import os
import platform
import sqlite3
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.meter import core_ticks, summary


def machine() -> dict[str, Any]:
    def first(path: str, key: str) -> str | None:
        with contextlib.suppress(OSError), open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        return None

    versions = {}
    for package in ("uvicorn", "uvloop", "httptools", "starlette", "websockets", "aiosqlite",
                    "orjson"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return {"cpus": os.cpu_count(), "cpu_model": first("/proc/cpuinfo", "model name"),
            "memory": first("/proc/meminfo", "MemTotal"), "kernel": platform.release(),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "libraries": versions}


def fsync_latency(directory: Path, count: int = 500) -> dict[str, Any]:
    """What one durable commit costs on this disk at least: append 4 KiB, fsync."""
    path = directory / "fsync.probe"
    samples = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for _ in range(count):
            os.write(fd, b"x" * 4096)
            started = time.perf_counter_ns()
            os.fsync(fd)
            samples.append(time.perf_counter_ns() - started)
    finally:
        os.close(fd)
        path.unlink()
    return summary(samples)


def filesystem(directory: Path) -> str | None:
    best_match, kind = "", None
    with contextlib.suppress(OSError), open("/proc/mounts") as mounts:
        for line in mounts:
            device, point, fs = line.split()[:3]
            if str(directory).startswith(point) and len(point) > len(best_match):
                best_match, kind = point, f"{fs} on {device}"
    return kind


def wait_for_quiet(limit: float, busy: float = 0.10, window: float = 2.0) -> float:
    """Wait (at most `limit` seconds) until both cores are less than `busy` busy over a
    `window`; returns how long it waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = core_ticks()
        time.sleep(window)
        after = core_ticks()
        ticks = os.sysconf("SC_CLK_TCK")
        if all((after[c][0] - before[c][0]) / ticks / window < busy for c in after):
            break
    return round(time.monotonic() - started, 1)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
