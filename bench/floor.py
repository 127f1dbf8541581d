"""The floor: a bare `websockets` relay speaking the benchmark's subset of the protocol.

It is what a chat server cannot do better than on this machine with this language: the same
frames over the same sockets, and nothing else. No persistence, no validation beyond parsing
JSON, no routing rules beyond "the least loaded agent". Same event loop (uvloop) and the same
settings as the server (no compression, 64 KiB frames), started the same way (pinned to a
core, its own process).

    python -m bench.floor --port 9000 [--stats FILE] [--db FILE]

`GET /ws/visitor`: `hello` -> `welcome` (a new random token); `message` -> the message to the
visitor, to the conversation's agent, then `ack`; the first message opens a conversation and
gives it to the least loaded agent (`assigned`). `ping` -> `pong`.
`GET /ws/agent` (any Bearer token): `welcome`, `queue`, `team`; `presence` is accepted.
`GET /api/health`: 200, for the benchmark to see it is up. With `--stats FILE`, SIGUSR1
writes the garbage collector's pauses to FILE, as the benchmark's server wrapper does.

With `--db FILE` it is the *durable floor*: each visitor message is committed to that SQLite
database by one group-commit thread (bench/committer.py) before it is relayed and
acknowledged, and SIGUSR1 also writes the commits so far (`batches`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import secrets
import signal
from http import HTTPStatus
from typing import Any

import orjson
import uvloop
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bench import stats
from bench.committer import Committer

MAX_FRAME = 64 * 1024


def dumps(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def stamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Floor:
    def __init__(self, committer: Committer | None = None) -> None:
        self.committer = committer  # None: nothing is stored
        self.agents: dict[ServerConnection, int] = {}  # agent socket -> its conversations
        self.conversation_ids = itertools.count(1)
        self.agent_ids = itertools.count(1)

    async def handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        try:
            if path.startswith("/ws/visitor"):
                await self.visitor(ws)
            elif path.startswith("/ws/agent"):
                await self.agent(ws)
            else:
                await ws.close(1008)
        except ConnectionClosed:
            pass

    async def visitor(self, ws: ServerConnection) -> None:
        hello = orjson.loads(await ws.recv())
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            await ws.send(dumps({"type": "error", "code": "hello_required",
                                 "message": "the first frame must be a hello"}))
            await ws.close(1008)
            return
        token = hello.get("token") or "v_" + secrets.token_urlsafe(32)
        visitor_id = secrets.token_hex(8)
        await ws.send(dumps({"type": "welcome", "token": token, "visitor_id": visitor_id,
                             "agents_online": len(self.agents), "conversation": None,
                             "messages": []}))
        conversation_id = 0
        agent: ServerConnection | None = None
        seq = 0
        author = {"role": "visitor", "name": "Visitor"}
        async for raw in ws:
            try:
                frame = orjson.loads(raw)
                kind = frame["type"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                await ws.send(dumps({"type": "error", "code": "bad_request",
                                     "message": "not a frame"}))
                continue
            if kind == "message":
                if agent is None or agent not in self.agents:
                    conversation_id = conversation_id or next(self.conversation_ids)
                    agent = self.assign(conversation_id, visitor_id)
                    seq += 1  # the system message "X joined the chat."
                seq += 1
                client_id, at = frame["client_id"], stamp()
                message = {"type": "message", "conversation_id": conversation_id, "seq": seq,
                           "author": author, "text": frame["text"], "at": at,
                           "client_id": client_id}
                if self.committer is not None:
                    await self.committer.commit((conversation_id, seq, f"visitor:{visitor_id}",
                                                 client_id, frame["text"], at))
                text = dumps(message)
                if agent is not None:
                    await agent.send(text)
                await ws.send(text)
                await ws.send(dumps({"type": "ack", "client_id": client_id,
                                     "conversation_id": conversation_id, "seq": seq}))
            elif kind == "ping":
                await ws.send('{"type":"pong"}')

    def assign(self, conversation_id: int, visitor_id: str) -> ServerConnection | None:
        if not self.agents:
            return None
        agent = min(self.agents, key=self.agents.__getitem__)
        self.agents[agent] += 1
        frame = {"type": "assigned", "conversation": {
            "id": conversation_id, "status": "active",
            "visitor": {"id": visitor_id, "name": None, "email": None, "verified": False},
            "customer_id": None, "messages": []}}
        asyncio.get_running_loop().create_task(self._send(agent, dumps(frame)))
        return agent

    async def _send(self, ws: ServerConnection, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(text)

    async def agent(self, ws: ServerConnection) -> None:
        agent_id = next(self.agent_ids)
        await ws.send(dumps({"type": "welcome", "agent": {
            "id": agent_id, "name": f"Agent {agent_id}", "role": "agent", "capacity": 1000,
            "status": "away"}, "conversations": []}))
        await ws.send('{"type":"queue","conversations":[]}')
        await ws.send('{"type":"team","agents":[]}')
        self.agents[ws] = 0
        try:
            async for raw in ws:
                frame = orjson.loads(raw)
                if frame.get("type") == "ping":
                    await ws.send('{"type":"pong"}')
        finally:
            self.agents.pop(ws, None)


def health(connection: ServerConnection, request: Request) -> Response | None:
    if request.path == "/api/health":
        return connection.respond(HTTPStatus.OK, '{"status": "ok"}\n')
    return None


async def main(host: str, port: int, db: str | None, stats_file: str | None) -> None:
    committer = Committer(db) if db else None
    if stats_file:
        stats.install(stats_file, committer.counters if committer else None)
    floor = Floor(committer)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(floor.handler, host, port, compression=None, max_size=MAX_FRAME,
                     process_request=health, backlog=4096):
        await stop
    if committer is not None:
        committer.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--stats", help="write GC pauses here on SIGUSR1")
    parser.add_argument("--db", help="the durable floor: commit each message to this file")
    args = parser.parse_args()
    uvloop.run(main(args.host, args.port, args.db, args.stats))
