"""`chatserver serve`, plus a way for the benchmark to read the writer's counters.

    python -m bench.serve STATS_FILE serve --port P --db URL

runs exactly `chatserver.cli.main(["serve", ...])`; the only addition is a SIGUSR1 handler
(bench/stats.py) that writes the garbage collector's pauses and the group-commit writer's
counters (`chatserver.store.writer.Writer`: `batches`, commits so far; `pending`, writes
waiting) to STATS_FILE, with how long the writer thread took per batch (its SQL and the
COMMIT's fsync, timed around `Writer._run_batch`: wall time, and the thread's own CPU time)
since the last report. Nothing else in the
request path changes.

An experiment, never the default: with `BENCH_SERVER_LOOP=uvloop` in the environment
(`python -m bench.run --server-loop uvloop`) the same command runs on uvloop's event loop,
to measure what serving on uvloop would change (`chatserver serve` calls `asyncio.run`, so
uvicorn's `loop="uvloop"` setting does not apply to it).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from bench import stats
from chatserver import cli
from chatserver.store import writer as writer_module

_writers: list[writer_module.Writer] = []
_batches: list[tuple[int, int, int]] = []  # (wall ns, writer thread CPU ns, operations)
_start = writer_module.Writer.start
_run_batch = writer_module.Writer._run_batch


def _remember_start(self: writer_module.Writer) -> None:
    _writers.append(self)
    _start(self)


def _timed_run_batch(self: writer_module.Writer, batch: list[Any]) -> None:
    started, cpu = time.perf_counter_ns(), time.thread_time_ns()
    try:
        _run_batch(self, batch)
    finally:
        if len(_batches) < 1_000_000:
            _batches.append((time.perf_counter_ns() - started, time.thread_time_ns() - cpu,
                             len(batch)))


def writer_counters() -> dict[str, Any]:
    batches = sorted(_batches)
    _batches.clear()

    def ms(p: float) -> float | None:
        return round(batches[min(len(batches) - 1, int(p * len(batches)))][0] / 1e6, 3) \
            if batches else None
    return {"batches": sum(w.batches for w in _writers),
            "pending": sum(len(w._pending) for w in _writers), "writers": len(_writers),
            "batch_thread": {"count": len(batches), "median_ms": ms(0.5), "p99_ms": ms(0.99),
                             "max_ms": ms(1.0), "operations": sum(n for _, _, n in batches),
                             "cpu_seconds": round(sum(c for _, c, _ in batches) / 1e9, 4)}}


def main() -> int:
    stats_file, argv = sys.argv[1], sys.argv[2:]
    writer_module.Writer.start = _remember_start  # type: ignore[method-assign]
    writer_module.Writer._run_batch = _timed_run_batch  # type: ignore[method-assign]
    stats.install(stats_file, writer_counters)
    if os.environ.get("BENCH_SERVER_LOOP") == "uvloop":
        import asyncio

        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
