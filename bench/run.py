"""The benchmark: the chat server and the two floors under the same load, over real sockets.

    python -m bench.run            # the full run (a few minutes)
    python -m bench.run --quick    # a smoke run (well under a minute)

Each target (`server`: `chatserver serve` on a fresh SQLite file; `durable`: the bare relay
committing each message to a fresh SQLite file before relaying it; `floor`: the bare relay,
bench/floor.py; and, only with `--targets pg1,pg2`, `chatserver serve` on PostgreSQL + Redis in
1 and 2 processes; see bench/targets.py) is started as its own process pinned to core 0
(`taskset -c 0`); this process, the load generator, pins itself to core 1. For each target,
in order:

1. `connections`: N new visitors (hello with token null -> welcome), C at a time; for the
   server, the `visitors` table must have grown by N.
2. `latency`: V visitors each open a conversation (assigned to A agents), then an open-loop
   load of R messages/s spread over the V conversations for D seconds: visitor-to-agent
   latency (send on the visitor socket -> `message` on the agent socket) and `ack` latency;
   for the targets that store messages, every 10th must be readable when its `ack` arrives.
3. `throughput`: the same V visitors keep W messages each unacknowledged; acks/s over D
   seconds after a warm-up; for the targets that store messages, every acked message must
   be in the database with the acked `seq` (so each `ack` followed its commit), and the
   group commit's batch count gives messages per commit.
4. `memory` (a fresh process): RSS before and after opening idle visitor sockets up to
   each step (1,000, 5,000, 10,000): per socket = growth / sockets.

Results go to a JSON file and a table (bench/report.py) with each figure, its target, both
floors' figures and the ratios to them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import uvloop

from bench.loadgen import Load
from bench.machine import filesystem, fsync_latency, load_average, machine, wait_for_quiet
from bench.measured import Measured
from bench.meter import rss_kib, settle
from bench.report import conditions, cpu_rows, cpu_table, table, verdicts
from bench.services import Services, describe
from bench.stores import PostgresView, SqliteView
from bench.targets import (
    KINDS,
    LOADGEN_CORE,
    PROCESSES,
    ROOT,
    Config,
    Profiler,
    Target,
    raise_nofile,
    server_env,
)


# --- setup through the command line ---------------------------------------------------------
def create_agents(target: Target, count: int) -> list[str]:
    """`chatserver agents add` and `chatserver tokens create`, as an operator would."""
    tokens = []
    chatserver = [sys.executable, "-m", "chatserver"]
    for i in range(1, count + 1):
        email = f"agent{i}@bench.example"
        subprocess.run([*chatserver, "agents", "add", email, "--name", f"Agent {i:02d}",
                        "--capacity", "1000", "--db", target.db_url], cwd=ROOT, env=server_env(),
                       check=True, capture_output=True, timeout=60)
        made = subprocess.run([*chatserver, "tokens", "create", email, "--label", "bench",
                               "--db", target.db_url], cwd=ROOT, env=server_env(), check=True,
                              capture_output=True, timeout=60, text=True)
        tokens.append(made.stdout.strip())
    return tokens


# --- one target ------------------------------------------------------------------------------
async def bench_target(kind: str, config: Config, work: Path) -> dict[str, Any]:
    """One target's phases; for `pg1` and `pg2`, in a fresh schema and bus prefix that are
    dropped at the end."""
    services = Services() if kind in PROCESSES else None
    try:
        result = await bench_main(kind, config, work, services)
        if services is not None:
            log(f"[{kind}] memory: not measured on PostgreSQL + Redis")
            result["services"] = await describe()
        elif config.memory_steps:
            result["memory"] = await bench_memory(kind, config, work)
        return result
    finally:
        if services is not None:
            await services.drop()


async def bench_main(kind: str, config: Config, work: Path, services: Services | None
                     ) -> dict[str, Any]:
    result: dict[str, Any] = {}
    count = PROCESSES.get(kind, 1)
    mains = [Target(kind, work, config, f"{kind}-main" + (f"-{i}" if count > 1 else ""),
                    services) for i in range(1, count + 1)]
    main = mains[0]
    tokens = create_agents(main, config.agents) if main.chatserver else (
        [f"floor-{i}" for i in range(config.agents)])
    log(f"[{kind}] starting {count} process(es)")
    pids = [target.start() for target in mains]
    result["server_processes"] = count
    profiler = Profiler(config, main)
    load = Load([t.port for t in mains], pids, services.sources(lambda: pids) if services
                else None)
    view: SqliteView | PostgresView | None = None
    if services is not None:
        view = await PostgresView(services.database_url).open()
    elif main.stores_messages:
        view = SqliteView(main.db)
    try:
        result["start_rss_kib"] = [rss_kib(pid) for pid in pids]
        await load.connect_agents(tokens)
        await settle(pids)

        log(f"[{kind}] connections: {config.connections} new visitors, "
            f"{config.connect_concurrency} at a time")
        before = await view.visitors() if view and main.chatserver else 0
        async with Measured(main, profiler, "connections") as measured:
            churn, connections = await load.open_visitors(config.connections,
                                                          config.connect_concurrency)
        connections.update(measured.extra)
        if view and main.chatserver:
            connections["visitors_stored"] = await view.visitors() - before
        result["connections"] = connections
        log(f"[{kind}]   {connections['per_second']}/s")
        for visitor in churn:  # they leave: the next phases have their own visitors
            visitor.abort()
        load.visitors.clear()
        await settle(pids)

        log(f"[{kind}] latency: {config.visitors} conversations, {config.rate:g} msg/s "
            f"for {config.latency_seconds:g} s")
        visitors, opened = await load.open_visitors(config.visitors, config.connect_concurrency)
        result["latency_visitors"] = opened
        result["conversations"] = await load.open_conversations(visitors)
        await settle(pids)
        load.probe = view.probe if view else None
        try:
            async with Measured(main, profiler, "latency") as measured:
                latency = await load.latency(visitors, config.rate, config.latency_seconds)
        finally:
            load.probe = None
        latency.update(measured.extra)
        if view:
            latency["stored"] = await view.stored_acks(load.acked, "L")
            latency["messages_per_commit"] = round(latency["acked"] / latency["commits"], 1) \
                if latency.get("commits") else None
        result["latency"] = latency
        log(f"[{kind}]   visitor->agent median {latency['visitor_to_agent'].get('median_ms')} "
            f"ms, p99 {latency['visitor_to_agent'].get('p99_ms')} ms")
        await settle(pids)

        result["throughput"] = []
        for window in config.windows:
            log(f"[{kind}] throughput: {config.visitors} visitors x {window} unacked, "
                f"{config.throughput_seconds:g} s")
            async with Measured(main, profiler, f"throughput-w{window}") as measured:
                run = await load.throughput(visitors, window, config.throughput_seconds,
                                            config.warmup_seconds)
            run.update(measured.extra)
            if run.get("commits"):
                run["messages_per_commit"] = round(run["acked"] / run["commits"], 1)
            if view:
                run["stored"] = await view.stored_acks(load.acked, f"T{window}.")
            result["throughput"].append(run)
            log(f"[{kind}]   {run['acks_per_second']} acks/s")
            await settle(pids)
        result["end_rss_kib"] = [rss_kib(pid) for pid in pids]
        result["events"] = dict(load.events)
    finally:
        load.abort_all()
        if view:
            await view.close()
        result["exit_codes"] = [target.stop() for target in mains]
    return result


async def bench_memory(kind: str, config: Config, work: Path) -> dict[str, Any]:
    memory = Target(kind, work, config, f"{kind}-memory")
    log(f"[{kind}] memory: idle visitor sockets {config.memory_steps} (a fresh process)")
    load = Load([memory.port], [memory.start()])
    try:
        async with Measured(memory, Profiler(config, memory), "memory") as measured:
            result = await load.memory(config.memory_steps, config.memory_concurrency)
        result.update(measured.extra)
        result["events"] = dict(load.events)
        log(f"[{kind}]   {result['points'][-1]['per_socket_kib']} KiB per socket")
    finally:
        memory.stop(kill=True)  # no need to say goodbye to 10,000 sockets one by one
        load.abort_all()
    return result


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


# --- main ----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> tuple[Config, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m bench.run",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"),
                        help="where to write the JSON results (default bench/results.json)")
    parser.add_argument("--targets", help=f"comma separated, of {','.join(KINDS + list(PROCESSES))}"
                        f" (default {','.join(KINDS)})")
    parser.add_argument("--agents", type=int)
    parser.add_argument("--visitors", type=int, help="conversations for latency/throughput")
    parser.add_argument("--rate", type=float, help="offered messages/s in the latency phase")
    parser.add_argument("--latency-seconds", type=float)
    parser.add_argument("--windows", help="comma separated unacked messages per visitor")
    parser.add_argument("--throughput-seconds", type=float)
    parser.add_argument("--connections", type=int)
    parser.add_argument("--memory-steps", help="comma separated socket counts")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory phase")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to cores 0 and 1")
    parser.add_argument("--profile", metavar="DIR", help="py-spy profiles of the server")
    parser.add_argument("--profile-gil", action="store_true",
                        help="profile only the thread holding the GIL (py-spy --gil)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="first wait up to SECONDS for the machine to be idle")
    args = parser.parse_args(argv)
    config = Config.quick() if args.quick else Config()
    for name in ("agents", "visitors", "rate", "latency_seconds", "throughput_seconds",
                 "connections", "profile"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    if args.windows:
        config.windows = [int(x) for x in args.windows.split(",")]
    if args.memory_steps:
        config.memory_steps = [int(x) for x in args.memory_steps.split(",")]
    if args.no_memory:
        config.memory_steps = []
    if args.targets:
        config.targets = [t.strip() for t in args.targets.split(",")]
    config.profile_gil = args.profile_gil
    if args.no_pin or len(os.sched_getaffinity(0)) < 2:
        config.pin = False
    return config, args


def main(argv: list[str] | None = None) -> int:
    config, args = parse_args(argv)
    waited = wait_for_quiet(args.wait_quiet) if args.wait_quiet else 0.0
    raise_nofile()
    if config.pin:
        os.sched_setaffinity(0, {LOADGEN_CORE})
    report: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.run", *(sys.argv[1:] if argv is None else argv)]),
        "quick": args.quick, "machine": machine(), "config": asdict(config),
        "load_average_before": load_average(), "waited_for_quiet_seconds": waited,
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0], "results": {}}
    work = Path(tempfile.mkdtemp(prefix="chatserver-bench-"))
    report["work_dir"] = str(work)
    report["machine"]["work_dir_filesystem"] = filesystem(work)
    report["machine"]["fsync_4k"] = fsync_latency(work)
    started = time.perf_counter()
    try:
        for kind in config.targets:
            report["results"][kind] = uvloop.run(bench_target(kind, config, work))
    finally:
        report["seconds"] = round(time.perf_counter() - started, 1)
        report["load_average_after"] = load_average()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report["summary"] = verdicts(report)
    report["cpu_per_ack"] = cpu = cpu_rows(report)
    report["conditions"] = found = conditions(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    if set(config.targets) & set(KINDS):
        print(table(report["summary"]))
    if cpu:
        print("\nCPU microseconds per acknowledged message, per kind of process:")
        print(cpu_table(cpu))
    shared = " (PRELIMINARY: the machine was shared)" if found["preliminary"] else ""
    print(f"\ndisk fsync (4 KiB) median {found['fsync_median_ms']} ms, p99 "
          f"{found['fsync_p99_ms']} ms; other programs used up to "
          f"{found['max_other_load_server_core']:.0%} of the server's core and "
          f"{found['max_other_load_loadgen_core']:.0%} of the generator's, steal up to "
          f"{found['max_steal']:.0%}{shared}")
    print(f"load average before {report['load_average_before']}, after "
          f"{report['load_average_after']}; {report['seconds']} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
