"""`chatserver serve`, plus a way for the benchmark to read the writer's counters.

    python -m bench.serve STATS_FILE serve --port P --db URL

runs exactly `chatserver.cli.main(["serve", ...])`; the only addition is a SIGUSR1 handler
(bench/stats.py) that writes the garbage collector's pauses and the group-commit writer's
counters (`chatserver.store.writer.Writer`: `batches`, commits so far; `pending`, writes
waiting) to STATS_FILE. Nothing in the request path changes.

An experiment, never the default: with `BENCH_SERVER_LOOP=uvloop` in the environment
(`python -m bench.run --server-loop uvloop`) the same command runs on uvloop's event loop,
to measure what serving on uvloop would change (`chatserver serve` calls `asyncio.run`, so
uvicorn's `loop="uvloop"` setting does not apply to it).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from bench import stats
from chatserver import cli
from chatserver.store import writer as writer_module

_writers: list[writer_module.Writer] = []
_start = writer_module.Writer.start


def _remember_start(self: writer_module.Writer) -> None:
    _writers.append(self)
    _start(self)


def writer_counters() -> dict[str, Any]:
    return {"batches": sum(w.batches for w in _writers),
            "pending": sum(len(w._pending) for w in _writers), "writers": len(_writers)}


def main() -> int:
    stats_file, argv = sys.argv[1], sys.argv[2:]
    writer_module.Writer.start = _remember_start  # type: ignore[method-assign]
    stats.install(stats_file, writer_counters)
    if os.environ.get("BENCH_SERVER_LOOP") == "uvloop":
        import asyncio

        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
