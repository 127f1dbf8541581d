"""The processes under load, seen from outside: their CPU, memory and run-queue waits.

CPU is read from /proc/PID/stat (user + system ticks, every thread), so it counts the same
for the chat server, the floors and the services a target uses (PostgreSQL's backends,
redis-server): CPU time per operation, which other load on the machine disturbs much less
than wall-clock rates do.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import resource
import time
from collections.abc import Callable, Iterable
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# a service's processes and their CPU seconds so far, read again at each call
Source = Callable[[], dict[int, float]]


def summary(values_ns: Iterable[int]) -> dict[str, Any]:
    """Nearest-rank percentiles of nanosecond samples, in milliseconds."""
    ordered = sorted(values_ns)
    if not ordered:
        return {"count": 0}

    def rank(p: float) -> float:
        index = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
        return round(ordered[index] / 1e6, 3)

    return {"count": len(ordered), "median_ms": rank(50), "p90_ms": rank(90),
            "p99_ms": rank(99), "p999_ms": rank(99.9), "max_ms": round(ordered[-1] / 1e6, 3),
            "mean_ms": round(sum(ordered) / len(ordered) / 1e6, 3)}


def process_cpu_seconds(pid: int, system: bool | None = None) -> float:
    """User + system CPU of a process (all its threads) so far; only one with `system`."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    user, kernel = int(fields[11]), int(fields[12])
    ticks = user + kernel if system is None else (kernel if system else user)
    return ticks / CLOCK_TICKS


def processes_cpu_seconds(pids: Iterable[int], system: bool | None = None) -> float:
    return sum(process_cpu_seconds(pid, system) for pid in pids)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def runqueue_wait_seconds(pid: int) -> float:
    """Time the process's threads spent ready to run but waiting for a CPU (other load on
    the machine shows here), from /proc/<pid>/task/*/schedstat."""
    total = 0
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(FileNotFoundError, IndexError, ValueError), \
                    open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[1])
    return total / 1e9


def core_ticks() -> dict[int, tuple[int, int, int]]:
    """Per core, from /proc/stat: (user + nice + system, steal, all) in clock ticks."""
    cores = {}
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith("cpu") and line[3].isdigit():
                name, *values = line.split()
                v = [int(x) for x in values]
                cores[int(name[3:])] = (v[0] + v[1] + v[2], v[7] if len(v) > 7 else 0, sum(v))
    return cores


class CpuMeter:
    """How busy the server process(es) and this load generator were over a stretch of wall
    time, in cores (1.0 = one core all the time; near 1.0 for the generator: it may be the
    limit), and how long each waited for a CPU while ready to run (other load on the
    machine). `services` (PostgreSQL, Redis) are measured too: their processes' CPU over the
    stretch, a process that appeared meanwhile counting from zero."""

    def __init__(self, pids: list[int], services: dict[str, Source] | None = None) -> None:
        self.pids = pids
        self.services = services or {}
        self.wall = time.perf_counter()
        self.server = processes_cpu_seconds(pids)
        self.server_system = processes_cpu_seconds(pids, system=True)
        self.own = own_cpu_seconds()
        self.server_wait = sum(runqueue_wait_seconds(pid) for pid in pids)
        self.own_wait = runqueue_wait_seconds(os.getpid())
        self.cores = core_ticks()
        self.service_start = {name: source() for name, source in self.services.items()}

    def read(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.wall
        server = processes_cpu_seconds(self.pids) - self.server
        own = own_cpu_seconds() - self.own
        services = {}
        for name, source in self.services.items():
            start = self.service_start[name]
            now = source()
            used = sum(cpu - start.get(pid, 0.0) for pid, cpu in now.items())
            services[f"{name}_cpu_seconds"] = round(used, 3)
            services[f"{name}_processes"] = len(now)
        wait = sum(runqueue_wait_seconds(pid) for pid in self.pids) - self.server_wait
        return {"wall_seconds": round(wall, 3),
                "server_processes": len(self.pids),
                "server_cpu": round(server / wall, 3),
                "server_cpu_seconds": round(server, 3),
                "server_system_share": round(
                    (processes_cpu_seconds(self.pids, True) - self.server_system) / server, 3)
                if server else None,
                "loadgen_cpu_seconds": round(own, 3),
                "server_runqueue_wait": round(wait / wall, 3),
                "loadgen_cpu": round(own / wall, 3),
                "loadgen_runqueue_wait": round(
                    (runqueue_wait_seconds(os.getpid()) - self.own_wait) / wall, 3),
                **services, **self._other_load(server, own, wall, services)}

    def _other_load(self, server: float, own: float, wall: float,
                    services: dict[str, float]) -> dict[str, float]:
        """Busy time on the server's core (0) and the generator's core (1) that was not the
        server's or the generator's: other programs on the machine (an estimate: kernel
        work for our own sockets can land on either core), and the hypervisor's steal. The
        services are not pinned: their CPU is taken off both cores together."""
        now = core_ticks()
        if 0 not in now or 1 not in now or 0 not in self.cores or 1 not in self.cores:
            return {}
        busy = {c: (now[c][0] - self.cores[c][0]) / CLOCK_TICKS / wall for c in (0, 1)}
        steal = {c: (now[c][1] - self.cores[c][1]) / CLOCK_TICKS / wall for c in (0, 1)}
        other = {"other_load_server_core": round(max(0.0, busy[0] - server / wall), 3),
                 "other_load_loadgen_core": round(max(0.0, busy[1] - own / wall), 3),
                 "steal_server_core": round(steal[0], 3),
                 "steal_loadgen_core": round(steal[1], 3)}
        if services:
            ours = server + own + sum(v for k, v in services.items() if k.endswith("_seconds"))
            other["other_load_both_cores"] = round(max(0.0, busy[0] + busy[1] - ours / wall), 3)
        return other


def per_operation(cpu: dict[str, Any], count: int, name: str) -> dict[str, float | None]:
    """The CPU per operation of the server, of the generator, of each service and of the
    target in all (server and services), and the rate one whole core would give the server
    if CPU were the only limit."""
    seconds, own = cpu["server_cpu_seconds"], cpu["loadgen_cpu_seconds"]

    def us(used: float) -> float | None:
        return round(used / count * 1e6, 1) if count else None

    figures = {f"server_cpu_us_per_{name}": us(seconds),
               f"cpu_bound_{name}s_per_second": round(count / seconds, 1) if seconds else None,
               f"loadgen_cpu_us_per_{name}": us(own)}
    services = {key.removesuffix("_cpu_seconds"): value for key, value in cpu.items()
                if key.endswith("_cpu_seconds") and key not in (
                    "server_cpu_seconds", "loadgen_cpu_seconds")}
    if services:
        for service, used in services.items():
            figures[f"{service}_cpu_us_per_{name}"] = us(used)
        figures[f"total_cpu_us_per_{name}"] = us(seconds + sum(services.values()))
    return figures


async def settle(pids: list[int], idle: float = 0.03, window: float = 0.25,
                 limit: float = 10.0) -> None:
    """Wait until the servers use less than `idle` of a core each (or `limit` seconds)."""
    end = time.perf_counter() + limit
    before = processes_cpu_seconds(pids)
    while time.perf_counter() < end:
        await asyncio.sleep(window)
        after = processes_cpu_seconds(pids)
        if (after - before) / window < idle * len(pids):
            return
        before = after
