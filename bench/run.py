"""The benchmark: the chat server and the two floors under the same load, over real sockets.

    python -m bench.run            # the full run (a few minutes)
    python -m bench.run --quick    # a smoke run (well under a minute)

Each target (`server`: `chatserver serve` on a fresh SQLite file; `durable`: the bare relay
committing each message to a fresh SQLite file before relaying it; `floor`: the bare relay,
bench/floor.py; see bench/targets.py) is started as its own process pinned to core 0
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
import contextlib
import datetime as dt
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import uvloop

from bench.loadgen import Load, rss_kib, settle
from bench.machine import filesystem, fsync_latency, load_average, machine, wait_for_quiet
from bench.report import conditions, table, verdicts
from bench.targets import (
    KINDS,
    LOADGEN_CORE,
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


def db_query(db: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as c:
        return c.execute(sql, args).fetchall()


class CommitProbe:
    """Is this acknowledged message in the database already? Asked the moment its `ack`
    arrives (a read-only connection sees every committed transaction)."""

    def __init__(self, db: Path) -> None:
        self.db = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)

    def __call__(self, visitor_id: str, client_id: str, seq: int) -> bool:
        row = self.db.execute("SELECT seq FROM messages WHERE sender_key = ? AND client_id = ?",
                              (f"visitor:{visitor_id}", client_id)).fetchone()
        return row is not None and row[0] == seq

    def close(self) -> None:
        self.db.close()


def stored_acks(db: Path, acked: dict[str, tuple[int, int]], prefix: str) -> dict[str, Any]:
    """Every acked message must be in the database with the acked conversation and seq."""
    rows = db_query(db, "SELECT client_id, conversation_id, seq FROM messages "
                        "WHERE client_id LIKE ?", (prefix + "%",))
    stored = {cid: (conversation, seq) for cid, conversation, seq in rows}
    missing = sum(1 for cid in acked if cid not in stored)
    wrong = sum(1 for cid, place in acked.items() if cid in stored and stored[cid] != place)
    return {"acked": len(acked), "stored": len(stored), "acked_not_stored": missing,
            "acked_with_other_seq": wrong}


# --- one target ------------------------------------------------------------------------------
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


async def bench_target(kind: str, config: Config, work: Path) -> dict[str, Any]:
    result: dict[str, Any] = {}
    main = Target(kind, work, config, f"{kind}-main")
    tokens = create_agents(main, config.agents) if kind == "server" else (
        [f"floor-{i}" for i in range(config.agents)])
    log(f"[{kind}] starting")
    main.start()
    profiler = Profiler(config, main)
    load = Load(main.port, main.pid)
    try:
        result["start_rss_kib"] = rss_kib(main.pid)
        await load.connect_agents(tokens)
        await settle(main.pid)

        log(f"[{kind}] connections: {config.connections} new visitors, "
            f"{config.connect_concurrency} at a time")
        before = db_query(main.db, "SELECT COUNT(*) FROM visitors")[0][0] if kind == "server" \
            else 0
        async with Measured(main, profiler, "connections") as measured:
            churn, connections = await load.open_visitors(config.connections,
                                                          config.connect_concurrency)
        connections.update(measured.extra)
        if kind == "server":
            connections["visitors_stored"] = db_query(
                main.db, "SELECT COUNT(*) FROM visitors")[0][0] - before
        result["connections"] = connections
        log(f"[{kind}]   {connections['per_second']}/s")
        for visitor in churn:  # they leave: the next phases have their own visitors
            visitor.abort()
        load.visitors.clear()
        await settle(main.pid)

        log(f"[{kind}] latency: {config.visitors} conversations, {config.rate:g} msg/s "
            f"for {config.latency_seconds:g} s")
        visitors, opened = await load.open_visitors(config.visitors, config.connect_concurrency)
        result["latency_visitors"] = opened
        result["conversations"] = await load.open_conversations(visitors)
        await settle(main.pid)
        probe = CommitProbe(main.db) if main.stores_messages else None
        load.probe = probe
        try:
            async with Measured(main, profiler, "latency") as measured:
                latency = await load.latency(visitors, config.rate, config.latency_seconds)
        finally:
            load.probe = None
            if probe is not None:
                probe.close()
        latency.update(measured.extra)
        if main.stores_messages:
            latency["stored"] = stored_acks(main.db, load.acked, "L")
            latency["messages_per_commit"] = round(latency["acked"] / latency["commits"], 1) \
                if latency.get("commits") else None
        result["latency"] = latency
        log(f"[{kind}]   visitor->agent median {latency['visitor_to_agent'].get('median_ms')} "
            f"ms, p99 {latency['visitor_to_agent'].get('p99_ms')} ms")
        await settle(main.pid)

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
            if main.stores_messages:
                run["stored"] = stored_acks(main.db, load.acked, f"T{window}.")
            result["throughput"].append(run)
            log(f"[{kind}]   {run['acks_per_second']} acks/s")
            await settle(main.pid)
        result["end_rss_kib"] = rss_kib(main.pid)
        result["events"] = dict(load.events)
    finally:
        load.abort_all()
        main.stop()

    memory = Target(kind, work, config, f"{kind}-memory")
    log(f"[{kind}] memory: idle visitor sockets {config.memory_steps} (a fresh process)")
    memory.start()
    load = Load(memory.port, memory.pid)
    try:
        async with Measured(memory, Profiler(config, memory), "memory") as measured:
            result["memory"] = await load.memory(config.memory_steps, config.memory_concurrency)
        result["memory"].update(measured.extra)
        result["memory"]["events"] = dict(load.events)
        log(f"[{kind}]   {result['memory']['points'][-1]['per_socket_kib']} KiB per socket")
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
    parser.add_argument("--targets", help=f"comma separated, of {','.join(KINDS)} (default all)")
    parser.add_argument("--agents", type=int)
    parser.add_argument("--visitors", type=int, help="conversations for latency/throughput")
    parser.add_argument("--rate", type=float, help="offered messages/s in the latency phase")
    parser.add_argument("--latency-seconds", type=float)
    parser.add_argument("--windows", help="comma separated unacked messages per visitor")
    parser.add_argument("--throughput-seconds", type=float)
    parser.add_argument("--connections", type=int)
    parser.add_argument("--memory-steps", help="comma separated socket counts")
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
    report["conditions"] = found = conditions(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(table(report["summary"]))
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
