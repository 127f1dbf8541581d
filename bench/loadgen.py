"""The load generator: visitors and agents speaking the contract's protocol over real sockets.

One process, asyncio on uvloop; the parties (bench/parties.py) handle each frame as it
arrives: its first bytes say what it is, and only the frames a measurement needs are parsed.
Every phase is bounded in count and in time.

Timestamps are `time.perf_counter_ns()` of this process: a visitor's message carries its send
time in its text (`L <ns> <n>`), so the agent's socket measures visitor-to-agent latency
without any clock shared with the server. With several server processes, visitors and
agents alternate between them, so most messages cross from one process to another.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import orjson

from bench.meter import CpuMeter, Source, per_operation, rss_kib, settle, summary
from bench.parties import Agent, Visitor, now_ns

# (visitor id, client id, seq) -> is it committed? (or an awaitable of that answer)
Probe = Callable[[str, str, int], "bool | Awaitable[bool]"]


def dumps(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


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


# --- the load -----------------------------------------------------------------------------
class Load:
    """One target (the chat server in one or more processes, or a floor) and the parties
    talking to it; `services` are the other processes whose CPU the target's work costs."""

    def __init__(self, ports: list[int], pids: list[int],
                 services: dict[str, Source] | None = None) -> None:
        self.urls = [f"ws://127.0.0.1:{port}" for port in ports]
        self.pids = pids
        self.services = services or {}
        self.agents: list[Agent] = []
        self.visitors: list[Visitor] = []
        self.assigned: set[int] = set()
        self.events: Counter[str] = Counter()  # unexpected things: errors, closes
        self.mode = "idle"
        # (visitor id, client id, seq) -> is it committed? Asked as the ack arrives, for a
        # sample of acks in the latency phase (the server only: the floor stores nothing)
        self.probe: Probe | None = None
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
        self.probes: set[asyncio.Future[bool]] = set()  # asynchronous answers still due
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
            answer = self.probe(visitor.visitor_id or "", client_id, frame["seq"])
            if isinstance(answer, bool):
                self.probe_failed += not answer
            else:  # asked at once, answered when the database replies
                future = asyncio.ensure_future(answer)
                self.probes.add(future)
                future.add_done_callback(self._probe_answered)
        if self.mode != "throughput":
            return None
        if self.measure[0] <= at < self.measure[1]:
            self.measured_acks += 1
        if at >= self.stop_at:
            return None
        return self._throughput_message(visitor)

    def _probe_answered(self, future: asyncio.Future[bool]) -> None:
        self.probes.discard(future)
        if future.cancelled() or future.exception() is not None or not future.result():
            self.probe_failed += 1

    def url_for(self, index: int) -> str:
        """The server process party number `index` talks to: they alternate."""
        return self.urls[index % len(self.urls)]

    def meter(self) -> CpuMeter:
        return CpuMeter(self.pids, self.services)

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

        meter = self.meter()
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
        meter = self.meter()
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
        meter = self.meter()
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
        if self.probes:
            await asyncio.wait(set(self.probes), timeout=30)
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
        meter = self.meter()
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
        await settle(self.pids)
        base = rss_kib(self.pids[0])
        meter = self.meter()
        points = []
        opening = []
        for step in steps:
            _, opened = await self.open_visitors(step - len(self.visitors), concurrency)
            opening.append(opened)
            await settle(self.pids)
            rss = rss_kib(self.pids[0])
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
