"""The processes under test: the chat server, the durable floor and the floor.

Each target is its own process, pinned to the server's core, started with the same
environment and a raised file descriptor limit, and asked for its counters over SIGUSR1
(bench/stats.py). `server` is `chatserver serve` on a fresh SQLite file (bench/serve.py);
`floor` is the bare relay (bench/floor.py); `durable` is that relay committing each message
to a fresh SQLite file first (bench/floor.py --db, bench/committer.py). `pg1` and `pg2` (only
when asked for) are `chatserver serve` on PostgreSQL and Redis (a fresh schema and key
prefix, bench/services.py) in 1 and 2 processes, each process pinned to the server's core
like `server` (the services are the machine's own and are not pinned).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.services import Services

ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE, LOADGEN_CORE = 0, 1
NOFILE = 65536
KINDS = ["server", "durable", "floor"]  # in the order they run by default
PROCESSES = {"pg1": 1, "pg2": 2}  # chatserver on PostgreSQL + Redis, in so many processes


@dataclass
class Config:
    agents: int = 10
    visitors: int = 1000  # conversations for the latency and throughput phases
    rate: float = 500.0  # offered messages/s in the latency phase
    latency_seconds: float = 20.0
    windows: list[int] = field(default_factory=lambda: [1, 4])
    throughput_seconds: float = 10.0
    warmup_seconds: float = 2.0
    connections: int = 3000
    connect_concurrency: int = 50
    memory_steps: list[int] = field(default_factory=lambda: [1000, 5000, 10000])
    memory_concurrency: int = 100
    targets: list[str] = field(default_factory=lambda: list(KINDS))
    pin: bool = True
    profile: str | None = None  # a directory: py-spy profiles of the server per phase
    profile_gil: bool = False  # sample only the thread holding the GIL (Python CPU)

    @classmethod
    def quick(cls) -> Config:
        return cls(agents=4, visitors=200, latency_seconds=3.0, windows=[1],
                   throughput_seconds=3.0, warmup_seconds=1.0, connections=300,
                   memory_steps=[500, 1000])



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_nofile() -> None:
    """As many file descriptors as allowed (more than 10,000 sockets need it)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    for limit in (max(NOFILE, hard), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
            return
        except (ValueError, OSError):
            continue


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATSERVER_")}
    env.update({"CHATSERVER_ALLOWED_ORIGINS": "*", "CHATSERVER_VISITOR_MESSAGE_LIMIT": "0",
                "CHATSERVER_VISITOR_SESSION_LIMIT": "0", "PYTHONUNBUFFERED": "1"})
    return env


class Target:
    """A server process under test: started pinned, with its log in the work directory."""

    def __init__(self, kind: str, work: Path, config: Config, name: str,
                 services: Services | None = None) -> None:
        self.kind = kind
        self.services = services
        self.work = work
        self.config = config
        self.name = name
        self.port = free_port()
        self.db = work / f"{name}.db"
        self.stats_file = work / f"{name}.stats.json"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def db_url(self) -> str:
        return self.services.database_url if self.services else f"sqlite:///{self.db}"

    @property
    def chatserver(self) -> bool:
        return self.kind == "server" or self.kind in PROCESSES

    @property
    def stores_messages(self) -> bool:
        """Does it commit each message to `self.db` before its `ack`?"""
        return self.kind != "floor"

    def command(self) -> list[str]:
        if self.chatserver:
            command = [sys.executable, "-m", "bench.serve", str(self.stats_file), "serve",
                       "--port", str(self.port), "--db", self.db_url]
        else:
            command = [sys.executable, "-m", "bench.floor", "--port", str(self.port),
                       "--stats", str(self.stats_file)]
            if self.stores_messages:
                command += ["--db", str(self.db)]
        if self.config.pin:
            command = ["taskset", "-c", str(SERVER_CORE), *command]
        return command

    def start(self) -> int:
        env = server_env()
        if self.services:
            env["CHATSERVER_BUS_URL"] = self.services.bus_url
        log = open(self.work / f"{self.name}.log", "wb")  # noqa: SIM115 (kept by the child)
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=raise_nofile)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see "
                                   f"{self.work / (self.name + '.log')}")
            with contextlib.suppress(OSError), urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/api/health", timeout=2) as response:
                if response.status == 200:
                    return self.proc.pid
            time.sleep(0.1)
        self.stop(kill=True)
        raise RuntimeError(f"{self.name} did not answer /api/health within 60 s")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stats(self) -> dict[str, Any] | None:
        """GC pauses, and the group-commit writer's counters (server only), via SIGUSR1."""
        if self.proc is None:
            return None
        with contextlib.suppress(FileNotFoundError):
            self.stats_file.unlink()
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError, ValueError):
                return dict(json.loads(self.stats_file.read_text()))
            time.sleep(0.02)
        return None

    def stop(self, kill: bool = False) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


class Profiler:
    """py-spy (when installed and asked for) sampling the server during one phase."""

    def __init__(self, config: Config, target: Target) -> None:
        self.directory = Path(config.profile) if config.profile else None
        self.gil = ["--gil"] if config.profile_gil else []
        self.target = target
        self.proc: subprocess.Popen[bytes] | None = None

    @contextlib.contextmanager
    def phase(self, name: str) -> Any:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if self.directory is None or not self.target.chatserver or not Path(spy).exists():
            yield
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        out = self.directory / f"{self.target.name}-{name}.txt"
        self.proc = subprocess.Popen([spy, "record", "--pid", str(self.target.pid), "--rate",
                                      "200", "--format", "raw", "--output", str(out),
                                      "--duration", "600", "--nonblocking", *self.gil],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield
        finally:
            self.proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(20)

