"""The load generator: visitors and agents speaking the contract's protocol over real sockets.

One process, asyncio on uvloop, the `websockets` library's client protocol without
compression. Each frame is handled as it arrives: its first bytes say what it is, and only
the frames a measurement needs are parsed. Every phase is bounded in count and in time.

Timestamps are `time.perf_counter_ns()` of this process: a visitor's message carries its send
time in its text (`L <ns> <n>`), so the agent's socket measures visitor-to-agent latency
without any clock shared with the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import os
import random
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import orjson
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

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
def process_cpu_seconds(pid: int, system: bool | None = None) -> float:
    """User + system CPU of a process (all its threads) so far; only one with `system`."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    user, kernel = int(fields[11]), int(fields[12])
    ticks = user + kernel if system is None else (kernel if system else user)
    return ticks / CLOCK_TICKS


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
    """How busy the server and this load generator were over a stretch of wall time, in
    cores (1.0 = one core all the time; near 1.0 for the generator: it may be the limit),
    and how long each waited for a CPU while ready to run (other load on the machine)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.wall = time.perf_counter()
        self.server = process_cpu_seconds(pid)
        self.server_system = process_cpu_seconds(pid, system=True)
        self.own = own_cpu_seconds()
        self.server_wait = runqueue_wait_seconds(pid)
        self.own_wait = runqueue_wait_seconds(os.getpid())
        self.cores = core_ticks()

    def read(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.wall
        server = process_cpu_seconds(self.pid) - self.server
        own = own_cpu_seconds() - self.own
        return {"wall_seconds": round(wall, 3),
                "server_cpu": round(server / wall, 3),
                "server_cpu_seconds": round(server, 3),
                "server_system_share": round(
                    (process_cpu_seconds(self.pid, True) - self.server_system) / server, 3)
                if server else None,
                "loadgen_cpu_seconds": round(own, 3),
                "server_runqueue_wait": round(
                    (runqueue_wait_seconds(self.pid) - self.server_wait) / wall, 3),
                "loadgen_cpu": round(own / wall, 3),
                "loadgen_runqueue_wait": round(
                    (runqueue_wait_seconds(os.getpid()) - self.own_wait) / wall, 3),
                **self._other_load(server, own, wall)}

    def _other_load(self, server: float, own: float, wall: float) -> dict[str, float]:
        """Busy time on the server's core (0) and the generator's core (1) that was not the
        server's or the generator's: other programs on the machine (an estimate: kernel
        work for our own sockets can land on either core), and the hypervisor's steal."""
        now = core_ticks()
        if 0 not in now or 1 not in now or 0 not in self.cores or 1 not in self.cores:
            return {}
        busy = {c: (now[c][0] - self.cores[c][0]) / CLOCK_TICKS / wall for c in (0, 1)}
        steal = {c: (now[c][1] - self.cores[c][1]) / CLOCK_TICKS / wall for c in (0, 1)}
        return {"other_load_server_core": round(max(0.0, busy[0] - server / wall), 3),
                "other_load_loadgen_core": round(max(0.0, busy[1] - own / wall), 3),
                "steal_server_core": round(steal[0], 3),
                "steal_loadgen_core": round(steal[1], 3)}


def per_operation(cpu: dict[str, Any], count: int, name: str) -> dict[str, float | None]:
    """The server's CPU per operation, and the rate one whole core would give if CPU were
    the only limit: figures that other load on the machine disturbs much less than
    wall-clock rates do."""
    seconds, own = cpu["server_cpu_seconds"], cpu["loadgen_cpu_seconds"]
    return {f"server_cpu_us_per_{name}": round(seconds / count * 1e6, 1) if count else None,
            f"cpu_bound_{name}s_per_second": round(count / seconds, 1) if seconds else None,
            f"loadgen_cpu_us_per_{name}": round(own / count * 1e6, 1) if count else None}


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


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection in the generator while it measures (a pause there would
    count as the server's latency); the phases are bounded, so memory is too."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# --- the parties --------------------------------------------------------------------------
class Socket(asyncio.Protocol):
    """One client WebSocket: the `websockets` library's sans-I/O `ClientProtocol` (no
    extensions, so no compression) on an asyncio transport. Frames are handed to `on_text` as
    they are parsed, inside `data_received`: no task, queue or future per frame, so the
    generator spends its time on the protocol rather than on asyncio bookkeeping."""

    def __init__(self, url: str, headers: dict[str, str], owner: Visitor | Agent) -> None:
        self.protocol = ClientProtocol(parse_uri(url), max_size=None)
        self.request = self.protocol.connect()
        for name, value in headers.items():
            self.request.headers[name] = value
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.close_code: int | None = None
        self.closed = False

    @classmethod
    async def open(cls, url: str, owner: Visitor | Agent, headers: dict[str, str] | None = None,
                   timeout: float = 60) -> Socket:
        uri = parse_uri(url)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            _, sock = await loop.create_connection(lambda: cls(url, headers or {}, owner),
                                                   uri.host, uri.port)
            await sock.opened
        return sock

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.protocol.send_request(self.request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Response):
                if event.status_code == 101 and protocol.handshake_exc is None:
                    self.opened.set_result(None)
                else:
                    self.opened.set_exception(RuntimeError(
                        f"handshake refused: HTTP {event.status_code}"))
            elif not isinstance(event, Frame):
                continue
            elif event.opcode is Opcode.TEXT:
                self.owner.on_text(bytes(event.data).decode())
            elif event.opcode is Opcode.CLOSE:
                self.close_code = Close.parse(event.data).code if event.data else 1005
        self._flush()

    def send_text(self, text: str) -> None:
        if not self.closed:
            self.protocol.send_text(text.encode())
            self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost: {exc}"))
        elif not self.closed:  # the server closed it, not us
            self.owner.lost(self.close_code)
        self.closed = True

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class Visitor:
    __slots__ = ("conversation_id", "index", "load", "sock", "token", "visitor_id", "welcome")

    def __init__(self, load: Load, index: int) -> None:
        self.load = load
        self.index = index
        self.sock: Socket | None = None
        self.token: str | None = None
        self.visitor_id: str | None = None
        self.conversation_id: int | None = None
        self.welcome: asyncio.Future[dict[str, Any]] | None = None

    async def open(self) -> tuple[int, int]:
        """Connect, say hello (a new visitor), wait for welcome; returns the nanoseconds of
        the handshake and of hello -> welcome."""
        start = now_ns()
        self.welcome = asyncio.get_running_loop().create_future()
        self.sock = sock = await Socket.open(self.load.url + "/ws/visitor", self)
        connected = now_ns()
        sock.send_text('{"type":"hello","token":null}')
        async with asyncio.timeout(60):
            frame = await self.welcome
        self.token, self.visitor_id = frame["token"], frame["visitor_id"]
        return connected - start, now_ns() - connected

    def on_text(self, raw: str) -> None:
        load = self.load
        if raw[:13] == '{"type":"ack"':
            follow = load.visitor_ack(self, orjson.loads(raw))
            if follow is not None:
                self.send(follow)
        elif raw[:15] == '{"type":"error"':
            frame = orjson.loads(raw)
            if self.welcome is not None and not self.welcome.done():
                self.welcome.set_exception(RuntimeError(f"hello refused: {frame}"))
            else:
                load.visitor_error(frame)
        elif raw[:17] == '{"type":"welcome"' and self.welcome is not None \
                and not self.welcome.done():
            self.welcome.set_result(orjson.loads(raw))

    def send(self, text: str) -> None:
        assert self.sock is not None
        if self.sock.closed:
            self.load.events["send on a closed visitor socket"] += 1
        self.sock.send_text(text)

    def lost(self, code: int | None) -> None:
        self.load.events[f"visitor socket closed by the server ({code})"] += 1

    @property
    def open_now(self) -> bool:
        return self.sock is not None and not self.sock.closed

    def abort(self) -> None:
        if self.sock is not None:
            self.sock.abort()


class Agent:
    __slots__ = ("assigned", "index", "load", "sock", "welcome")

    def __init__(self, load: Load, index: int) -> None:
        self.load = load
        self.index = index
        self.sock: Socket | None = None
        self.assigned = 0
        self.welcome: asyncio.Future[None] | None = None

    async def open(self, token: str) -> None:
        self.welcome = asyncio.get_running_loop().create_future()
        self.sock = await Socket.open(self.load.url + "/ws/agent", self,
                                      {"Authorization": f"Bearer {token}"})
        async with asyncio.timeout(60):
            await self.welcome
        self.sock.send_text('{"type":"presence","status":"available"}')

    def on_text(self, raw: str) -> None:
        if raw[:17] == '{"type":"message"':
            self.load.agent_message(raw)
        elif raw[:18] == '{"type":"assigned"':
            self.assigned += 1
            self.load.assigned.add(orjson.loads(raw)["conversation"]["id"])
        elif raw[:17] == '{"type":"welcome"':
            if self.welcome is not None and not self.welcome.done():
                self.welcome.set_result(None)
        elif raw[:15] == '{"type":"error"':
            self.load.events[f"agent error {orjson.loads(raw).get('code')}"] += 1

    def lost(self, code: int | None) -> None:
        self.load.events[f"agent socket closed by the server ({code})"] += 1

    def abort(self) -> None:
        if self.sock is not None:
            self.sock.abort()


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
        # (visitor id, client id, seq) -> is it committed? Asked as the ack arrives, for a
        # sample of acks in the latency phase (the server only: the floor stores nothing)
        self.probe: Callable[[str, str, int], bool] | None = None
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
        self.probed = self.probe_failed = 0
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
        if self.mode == "latency" and self.probe is not None and len(self.ack_ns) % 10 == 1:
            self.probed += 1  # read-after-ack: a committed message is visible to a new reader
            if not self.probe(visitor.visitor_id or "", client_id, frame["seq"]):
                self.probe_failed += 1
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
            visitor.send(self._send(visitor, f"o{visitor.index}", "hello, anyone?"))
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
        with paused_gc():
            return await self._latency(visitors, rate, duration)

    async def _latency(self, visitors: list[Visitor], rate: float, duration: float
                       ) -> dict[str, Any]:
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
                visitor.send(dumps({"type": "message", "client_id": client_id,
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
                "agent_missing": total - self.agent_received,
                "read_after_ack": {"probed": self.probed, "not_yet_stored": self.probe_failed}
                if self.probe else None,
                "visitor_to_agent": summary(self.agent_ns), "ack": summary(self.ack_ns),
                "send_lag": summary(lag), **cpu, **per_operation(cpu, total, "message")}

    async def throughput(self, visitors: list[Visitor], window: int, duration: float,
                         warmup: float) -> dict[str, Any]:
        """Closed loop: each visitor keeps `window` messages unacknowledged; acks counted
        over `duration` seconds after `warmup`."""
        self.mode = "throughput"
        self._reset()
        self.window = window
        with paused_gc():
            return await self._throughput(visitors, window, duration, warmup)

    async def _throughput(self, visitors: list[Visitor], window: int, duration: float,
                          warmup: float) -> dict[str, Any]:
        start = now_ns()
        self.measure = (start + int(warmup * 1e9), start + int((warmup + duration) * 1e9))
        self.stop_at = self.measure[1]
        for _ in range(window):
            for visitor in visitors:
                visitor.send(self._throughput_message(visitor))
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
        meter = CpuMeter(self.pid)
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
                "live_sockets": sum(1 for v in self.visitors if v.open_now), **meter.read()}

    def abort_all(self) -> None:
        for visitor in self.visitors:
            visitor.abort()
        for agent in self.agents:
            agent.abort()
        self.visitors.clear()
        self.agents.clear()
