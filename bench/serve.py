"""`chatserver serve`, plus a way for the benchmark to read the writer's counters.

    python -m bench.serve STATS_FILE serve --port P --db URL

runs exactly `chatserver.cli.main(["serve", ...])`; the only addition is a SIGUSR1 handler
(bench/stats.py) that writes the garbage collector's pauses and the group-commit writer's
counters (`chatserver.store.sqlite.writer.Writer`: `batches`, commits so far; `pending`, writes
waiting) to STATS_FILE, with what each batch cost since the last report: its statements
(`Writer._run`, on the event loop's thread) and its COMMIT with the fsync
(`Writer._commit`, on the writer thread), as wall time and the running thread's own CPU
time. Nothing else in the request path changes.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from bench import stats
from chatserver import cli
from chatserver.store.sqlite import writer as writer_module

_writers: list[writer_module.Writer] = []
_batches: list[list[int]] = []  # [wall ns, CPU ns, operations] per batch
_start = writer_module.Writer.start
_run = writer_module.Writer._run
_commit = writer_module.Writer._commit


def _remember_start(self: writer_module.Writer) -> None:
    _writers.append(self)
    _start(self)


def _timed_run(self: writer_module.Writer, batch: list[Any], isolated: bool) -> bool:
    started, cpu = time.perf_counter_ns(), time.thread_time_ns()
    try:
        return _run(self, batch, isolated)
    finally:
        if len(_batches) < 1_000_000:
            _batches.append([time.perf_counter_ns() - started, time.thread_time_ns() - cpu,
                             len(batch)])


def _timed_commit(self: writer_module.Writer) -> None:
    started, cpu = time.perf_counter_ns(), time.thread_time_ns()
    try:
        _commit(self)
    finally:
        if _batches:  # the batch whose statements just ran
            _batches[-1][0] += time.perf_counter_ns() - started
            _batches[-1][1] += time.thread_time_ns() - cpu


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
    writer_module.Writer._run = _timed_run  # type: ignore[method-assign]
    writer_module.Writer._commit = _timed_commit  # type: ignore[method-assign]
    stats.install(stats_file, writer_counters)
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
