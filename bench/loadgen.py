"""The load generator: visitors and agents speaking the contract's protocol over real sockets.

One process, asyncio on uvloop, the `websockets` client without compression. Every socket
has a reader task that looks at a frame's first bytes and parses only the frames a
measurement needs. Every phase is bounded in count and in time.

Timestamps are `time.perf_counter_ns()` of this process: a visitor's message carries its send
time in its text (`L <ns> <n>`), so the agent's socket measures visitor-to-agent latency
without any clock shared with the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import resource
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

CONNECT_OPTIONS: dict[str, Any] = {
    "compression": None,  # as the widget's server expects: no permessage-deflate
    "ping_interval": None,  # the load generator never pings; the server may
    "proxy": None,
    "open_timeout": 60,
    "close_timeout": 2,
    "max_size": None,  # `queue` frames to agents can be large
    "max_queue": 64,
    "user_agent_header": None,
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def dumps(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def now_ns() -> int:
    return time.perf_counter_ns()


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


# --- the server process, seen from outside ------------------------------------------------
def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


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


class CpuMeter:
    """How busy the server and this load generator were over a stretch of wall time, in
    cores (1.0 = one core all the time; near 1.0 for the generator: it may be the limit),
    and how long each waited for a CPU while ready to run (other load on the machine)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.wall = time.perf_counter()
        self.server = process_cpu_seconds(pid)
        self.own = own_cpu_seconds()
        self.server_wait = runqueue_wait_seconds(pid)
        self.own_wait = runqueue_wait_seconds(os.getpid())

    def read(self) -> dict[str, float]:
        wall = time.perf_counter() - self.wall
        server = process_cpu_seconds(self.pid) - self.server
        return {"wall_seconds": round(wall, 3),
                "server_cpu": round(server / wall, 3),
                "server_cpu_seconds": round(server, 3),
                "server_runqueue_wait": round(
                    (runqueue_wait_seconds(self.pid) - self.server_wait) / wall, 3),
                "loadgen_cpu": round((own_cpu_seconds() - self.own) / wall, 3),
                "loadgen_runqueue_wait": round(
                    (runqueue_wait_seconds(os.getpid()) - self.own_wait) / wall, 3)}


def per_operation(cpu: dict[str, float], count: int, name: str) -> dict[str, float | None]:
    """The server's CPU per operation, and the rate one whole core would give if CPU were
    the only limit: figures that other load on the machine disturbs much less than
    wall-clock rates do."""
    seconds = cpu["server_cpu_seconds"]
    return {f"server_cpu_us_per_{name}": round(seconds / count * 1e6, 1) if count else None,
            f"cpu_bound_{name}s_per_second": round(count / seconds, 1) if seconds else None}


async def settle(pid: int, idle: float = 0.03, window: float = 0.25, limit: float = 10.0) -> None:
    """Wait until the server uses less than `idle` of a core (or `limit` seconds passed)."""
    end = time.perf_counter() + limit
    before = process_cpu_seconds(pid)
    while time.perf_counter() < end:
        await asyncio.sleep(window)
        after = process_cpu_seconds(pid)
        if (after - before) / window < idle:
            return
        before = after


# --- the parties --------------------------------------------------------------------------
class Visitor:
    __slots__ = ("closed_code", "conversation_id", "index", "load", "task", "token",
                 "visitor_id", "ws")

    def __init__(self, load: Load, index: int) -> None:
        self.load = load
        self.index = index
        self.ws: ClientConnection | None = None
        self.token: str | None = None
        self.visitor_id: str | None = None
        self.conversation_id: int | None = None
        self.task: asyncio.Task[None] | None = None
        self.closed_code: int | None = None

    async def open(self) -> tuple[int, int]:
        """Connect, say hello (a new visitor), wait for welcome; returns the nanoseconds of
        the handshake and of hello -> welcome."""
        start = now_ns()
        self.ws = ws = await connect(self.load.url + "/ws/visitor", **CONNECT_OPTIONS)
        connected = now_ns()
        await ws.send('{"type":"hello","token":null}')
        while True:
            frame = orjson.loads(await ws.recv())
            if frame["type"] == "welcome":
                break
            if frame["type"] == "error":
                raise RuntimeError(f"hello refused: {frame}")
        self.token, self.visitor_id = frame["token"], frame["visitor_id"]
        self.task = asyncio.get_running_loop().create_task(self._read())
        return connected - start, now_ns() - connected

    async def _read(self) -> None:
        ws = self.ws
        assert ws is not None
        load = self.load
        try:
            async for raw in ws:
                if raw[:13] == '{"type":"ack"':
                    follow = load.visitor_ack(self, orjson.loads(raw))
                    if follow is not None:
                        await ws.send(follow)
                elif raw[:15] == '{"type":"error"':
                    load.visitor_error(orjson.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self.closed_code = ws.close_code
            if ws.close_code not in (None, 1000, 1001, 1006):
                load.events[f"visitor socket closed {ws.close_code}"] += 1

    def abort(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.ws is not None:
            self.ws.transport.abort()


class Agent:
    __slots__ = ("assigned", "closed_code", "index", "load", "task", "ws")

    def __init__(self, load: Load, index: int) -> None:
        self.load = load
        self.index = index
        self.ws: ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None
        self.assigned = 0
        self.closed_code: int | None = None

    async def open(self, token: str) -> None:
        self.ws = ws = await connect(self.load.url + "/ws/agent", **CONNECT_OPTIONS,
                                     additional_headers={"Authorization": f"Bearer {token}"})
        while orjson.loads(await ws.recv())["type"] != "welcome":
            pass
        await ws.send('{"type":"presence","status":"available"}')
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        ws = self.ws
        assert ws is not None
        load = self.load
        try:
            async for raw in ws:
                if raw[:17] == '{"type":"message"':
                    load.agent_message(raw)
                elif raw[:18] == '{"type":"assigned"':
                    self.assigned += 1
                    load.assigned.add(orjson.loads(raw)["conversation"]["id"])
        except ConnectionClosed:
            pass
        finally:
            self.closed_code = ws.close_code
            if ws.close_code not in (None, 1000, 1001):
                load.events[f"agent socket closed {ws.close_code}"] += 1

    def abort(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.ws is not None:
            self.ws.transport.abort()


# --- the load -----------------------------------------------------------------------------
class Load:
    """One target server (the chat server or the floor) and the parties talking to it."""

    def __init__(self, port: int, pid: int) -> None:
        self.url = f"ws://127.0.0.1:{port}"
        self.pid = pid
        self.agents: list[Agent] = []
        self.visitors: list[Visitor] = []
        self.assigned: set[int] = set()
        self.events: Counter[str] = Counter()  # unexpected things: errors, closes
        self.mode = "idle"
        self._reset()

    def _reset(self) -> None:
        self.pending: dict[str, int] = {}  # client_id -> send time
        self.acked: dict[str, tuple[int, int]] = {}  # client_id -> (conversation, seq)
        self.ack_ns: list[int] = []
        self.agent_ns: list[int] = []
        self.agent_received = 0
        self.window = 0
        self.sent = 0
        self.stop_at = 0
        self.measure = (0, 0)
        self.measured_acks = 0
        self.counters: dict[int, int] = {}
        self.drained = asyncio.Event()

    # --- frames in ----------------------------------------------------------------------
    def visitor_ack(self, visitor: Visitor, frame: dict[str, Any]) -> str | None:
        at = now_ns()
        client_id = frame["client_id"]
        sent = self.pending.pop(client_id, None)
        if sent is None:
            self.events["ack for nothing pending"] += 1
            return None
        self.ack_ns.append(at - sent)
        self.acked[client_id] = (frame["conversation_id"], frame["seq"])
        visitor.conversation_id = frame["conversation_id"]
        if not self.pending:
            self.drained.set()
        if self.mode != "throughput":
            return None
        if self.measure[0] <= at < self.measure[1]:
            self.measured_acks += 1
        if at >= self.stop_at:
            return None
        return self._throughput_message(visitor)

    def visitor_error(self, frame: dict[str, Any]) -> None:
        self.events[f"error {frame.get('code')}"] += 1
        client_id = frame.get("client_id")
        if client_id is not None and self.pending.pop(client_id, None) is not None \
                and not self.pending:
            self.drained.set()

    def agent_message(self, raw: str) -> None:
        if self.mode == "latency":
            at = now_ns()
            frame = orjson.loads(raw)
            text = frame["text"]
            if frame["author"]["role"] == "visitor" and text[:2] == "L ":
                self.agent_ns.append(at - int(text.split(" ", 2)[1]))
                self.agent_received += 1
        elif self.mode == "throughput":
            self.agent_received += 1  # only visitors write during the phase

    # --- frames out ---------------------------------------------------------------------
    def _send(self, visitor: Visitor, client_id: str, text: str) -> str:
        self.pending[client_id] = now_ns()
        self.drained.clear()
        self.sent += 1
        return dumps({"type": "message", "client_id": client_id, "text": text})

    def _throughput_message(self, visitor: Visitor) -> str:
        n = self.counters[visitor.index] = self.counters.get(visitor.index, 0) + 1
        return self._send(visitor, f"T{self.window}.{visitor.index}.{n}", "throughput test")

    async def drain(self, timeout: float) -> bool:
        """Wait for every pending message's ack; False if some never came."""
        if not self.pending:
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self.pending:
                    await self.drained.wait()
        return not self.pending

    # --- phases -------------------------------------------------------------------------
    async def connect_agents(self, tokens: list[str]) -> None:
        for index, token in enumerate(tokens):
            agent = Agent(self, index)
            await agent.open(token)
            self.agents.append(agent)

    async def open_visitors(self, count: int, concurrency: int, timeout: float = 300
                            ) -> tuple[list[Visitor], dict[str, Any]]:
        """Open `count` new visitor sockets, `concurrency` at a time, each up to welcome."""
        opened: list[Visitor] = []
        handshake: list[int] = []
        hello: list[int] = []
        failures: Counter[str] = Counter()
        indexes = iter(range(len(self.visitors), len(self.visitors) + count))

        async def worker() -> None:
            for index in indexes:
                visitor = Visitor(self, index)
                try:
                    shake, welcome = await visitor.open()
                except Exception as error:
                    failures[type(error).__name__] += 1
                    visitor.abort()
                    continue
                handshake.append(shake)
                hello.append(welcome)
                opened.append(visitor)

        meter = CpuMeter(self.pid)
        start = time.perf_counter()
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
        elapsed = time.perf_counter() - start
        cpu = meter.read()
        self.visitors.extend(opened)
        return opened, {
            "requested": count, "opened": len(opened), "failures": dict(failures),
            "concurrency": concurrency, "seconds": round(elapsed, 3),
            "per_second": round(len(opened) / elapsed, 1),
            "handshake": summary(handshake), "hello_to_welcome": summary(hello),
            **cpu, **per_operation(cpu, len(opened), "connection")}

    async def open_conversations(self, visitors: list[Visitor], timeout: float = 180
                                 ) -> dict[str, Any]:
        """Each visitor's first message opens a conversation; wait until agents hold them."""
        self.mode = "open"
        self._reset()
        start = time.perf_counter()
        meter = CpuMeter(self.pid)
        for visitor in visitors:
            assert visitor.ws is not None
            await visitor.ws.send(self._send(visitor, f"o{visitor.index}", "hello, anyone?"))
        acked = await self.drain(timeout)
        acks = time.perf_counter() - start
        wanted = {v.conversation_id for v in visitors if v.conversation_id is not None}
        deadline = time.perf_counter() + timeout
        while not wanted <= self.assigned and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - start
        return {"conversations": len(wanted), "all_acked": acked,
                "assigned": len(wanted & self.assigned), "seconds_to_acks": round(acks, 3),
                "seconds_to_assigned": round(elapsed, 3),
                "per_agent": [a.assigned for a in self.agents], **meter.read()}

    async def latency(self, visitors: list[Visitor], rate: float, duration: float
                      ) -> dict[str, Any]:
        """An open-loop offered load: `rate` messages/s spread over the visitors' conversations
        (each in turn, in a shuffled order), for `duration` seconds."""
        self.mode = "latency"
        self._reset()
        total = int(rate * duration)
        order = list(range(len(visitors)))
        random.Random(7).shuffle(order)
        lag: list[int] = []
        meter = CpuMeter(self.pid)
        start = now_ns()
        sent = 0
        while sent < total:
            due = min(total, int((now_ns() - start) * rate / 1e9) + 1)
            while sent < due:
                visitor = visitors[order[sent % len(order)]]
                at = now_ns()
                lag.append(at - (start + int(sent * 1e9 / rate)))
                client_id = f"L{sent}"
                self.pending[client_id] = at
                self.drained.clear()
                assert visitor.ws is not None
                await visitor.ws.send(dumps({"type": "message", "client_id": client_id,
                                             "text": f"L {at} {sent}"}))
                sent += 1
            next_at = start + int(sent * 1e9 / rate)
            await asyncio.sleep(max(0.0, (next_at - now_ns()) / 1e9))
        cpu = meter.read()
        acked = await self.drain(10)
        deadline = time.perf_counter() + 10
        while self.agent_received < total and time.perf_counter() < deadline:
            await asyncio.sleep(0.02)
        self.mode = "idle"
        return {"offered_per_second": rate, "seconds": duration, "conversations": len(visitors),
                "sent": total, "acked": len(self.acked), "all_acked": acked,
                "agent_received": self.agent_received,
                "visitor_to_agent": summary(self.agent_ns), "ack": summary(self.ack_ns),
                "send_lag": summary(lag), **cpu, **per_operation(cpu, total, "message")}

    async def throughput(self, visitors: list[Visitor], window: int, duration: float,
                         warmup: float) -> dict[str, Any]:
        """Closed loop: each visitor keeps `window` messages unacknowledged; acks counted
        over `duration` seconds after `warmup`."""
        self.mode = "throughput"
        self._reset()
        self.window = window
        start = now_ns()
        self.measure = (start + int(warmup * 1e9), start + int((warmup + duration) * 1e9))
        self.stop_at = self.measure[1]
        meter: CpuMeter | None = None
        for _ in range(window):
            for visitor in visitors:
                assert visitor.ws is not None
                await visitor.ws.send(self._throughput_message(visitor))
        await asyncio.sleep(warmup)
        meter = CpuMeter(self.pid)
        await asyncio.sleep(max(0.0, (self.measure[1] - now_ns()) / 1e9))
        cpu = meter.read()
        acked = await self.drain(30)
        deadline = time.perf_counter() + 10
        while self.agent_received < len(self.acked) and time.perf_counter() < deadline:
            await asyncio.sleep(0.02)
        self.mode = "idle"
        return {"window": window, "visitors": len(visitors), "outstanding": window * len(visitors),
                "seconds": duration, "acks_per_second": round(self.measured_acks / duration, 1),
                "sent": self.sent, "acked": len(self.acked), "all_acked": acked,
                "agent_received": self.agent_received, "ack": summary(self.ack_ns), **cpu,
                **per_operation(cpu, self.measured_acks, "ack")}

    async def memory(self, steps: list[int], concurrency: int) -> dict[str, Any]:
        """Server RSS before and after opening idle visitor sockets (up to welcome)."""
        await settle(self.pid)
        base = rss_kib(self.pid)
        points = []
        opening = []
        for step in steps:
            _, opened = await self.open_visitors(step - len(self.visitors), concurrency)
            opening.append(opened)
            await settle(self.pid)
            rss = rss_kib(self.pid)
            points.append({"sockets": len(self.visitors), "rss_kib": rss,
                           "delta_kib": rss - base,
                           "per_socket_kib": round((rss - base) / max(1, len(self.visitors)), 2)})
        first, last = points[0], points[-1]
        marginal = ((last["rss_kib"] - first["rss_kib"]) / (last["sockets"] - first["sockets"])
                    if last["sockets"] > first["sockets"] else None)
        return {"base_rss_kib": base, "points": points,
                "marginal_per_socket_kib": round(marginal, 2) if marginal else None,
                "open_rate": [o["per_second"] for o in opening],
                "open_failures": sum(o["requested"] - o["opened"] for o in opening),
                "live_sockets": sum(1 for v in self.visitors if v.closed_code is None)}

    def abort_all(self) -> None:
        for party in [*self.visitors, *self.agents]:
            party.abort()
        self.visitors.clear()
        self.agents.clear()
