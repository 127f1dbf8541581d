"""Through nginx, configured by deploy/: health, the visitor socket (its handshake keeps the
browser's Host, so the proxy's origin is the server's own), each visitor's own address
counted for the new-visitor limit and a forged X-Forwarded-For ignored, the body limit, and
a rolling restart that drops no chat. Last, `nginx -t` of production's nginx.conf."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from tests.backends import query
from tests.conftest import add_agent
from tests.deploy.conftest import DEPLOY, Proxied, nginx_binary
from tests.redis_urls import redis_url
from tests.store.conftest import postgres_schema

ONE_VISITOR_PER_ADDRESS = {"CHATSERVER_VISITOR_SESSION_LIMIT": "1/3600",
                           "CHATSERVER_ALLOWED_ORIGINS": ""}  # only the server's own origin


class Visitor:
    """A visitor's socket opened through nginx, as a browser on the proxy's own page would,
    from the address `source` (any 127.x.y.z is this machine; only 127.0.0.1 is a proxy the
    server trusts)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def connect(cls, proxy: Proxied, source: str = "127.0.0.2",
                      headers: dict[str, str] | None = None, **hello: Any
                      ) -> tuple[Visitor, dict[str, Any]]:
        ws = await websockets.connect(proxy.ws + "/ws/visitor", origin=proxy.url,
                                      additional_headers=headers, local_addr=(source, 0))
        visitor = cls(ws)
        await visitor.send("hello", **{"token": None, **hello})
        return visitor, await visitor.recv()

    async def send(self, type: str, **fields: Any) -> None:
        await self.ws.send(orjson.dumps({"type": type, **fields}).decode())

    async def recv(self) -> dict[str, Any]:
        frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(self.ws.recv(), 10))
        return frame

    async def expect(self, type: str) -> dict[str, Any]:
        while (frame := await self.recv())["type"] != type:
            pass
        return frame


def test_health_answers_through_nginx(proxied: Callable[..., Proxied]) -> None:
    proxy = proxied()
    response = httpx.get(proxy.url + "/api/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "sqlite", "bus": "memory"}


async def test_a_visitor_on_the_proxys_origin_says_hello_and_a_message_is_acked(
        proxied: Callable[..., Proxied]) -> None:
    proxy = proxied(env=ONE_VISITOR_PER_ADDRESS)
    visitor, welcome = await Visitor.connect(proxy)
    assert welcome["type"] == "welcome", welcome
    await visitor.send("message", client_id="m1", text="Is my order shipped?")
    ack = await visitor.expect("ack")
    await visitor.ws.close()
    assert (ack["client_id"], ack["seq"]) == ("m1", 1)
    assert query(proxy.servers[0].db_url, "SELECT text FROM messages") == [
        ("Is my order shipped?",)]


async def test_the_upstreams_own_origin_is_not_the_proxys(
        proxied: Callable[..., Proxied]) -> None:
    proxy = proxied(env=ONE_VISITOR_PER_ADDRESS)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(proxy.ws + "/ws/visitor",
                                 origin=proxy.servers[0].url)
    assert refused.value.response.status_code == 403


async def new_visitor_from(proxy: Proxied, source: str, **headers: str) -> str:
    """What a new visitor from `source` is answered: `welcome`, or the error's code."""
    visitor, frame = await Visitor.connect(proxy, source, headers)
    await visitor.ws.close()
    return str(frame["code"] if frame["type"] == "error" else frame["type"])


async def test_each_visitors_own_address_counts_for_the_new_visitor_limit_not_nginxs(
        proxied: Callable[..., Proxied]) -> None:
    proxy = proxied(env=ONE_VISITOR_PER_ADDRESS)
    assert await new_visitor_from(proxy, "127.0.0.2") == "welcome"
    assert await new_visitor_from(proxy, "127.0.0.2") == "rate_limited"
    assert await new_visitor_from(proxy, "127.0.0.3") == "welcome"  # someone else


async def test_a_visitor_cannot_pass_for_another_address_by_sending_x_forwarded_for(
        proxied: Callable[..., Proxied]) -> None:
    proxy = proxied(env=ONE_VISITOR_PER_ADDRESS)
    assert await new_visitor_from(proxy, "127.0.0.2") == "welcome"
    assert await new_visitor_from(proxy, "127.0.0.2",
                                  **{"X-Forwarded-For": "203.0.113.7"}) == "rate_limited"


def test_nginx_refuses_a_body_over_the_servers_limit_in_the_apis_error_shape(
        proxied: Callable[..., Proxied]) -> None:
    proxy = proxied()
    limit = 1024 * 1024  # chatserver/web/body_limit.py's MAX_BODY
    at_limit = httpx.post(proxy.url + "/api/orders", content=b" " * limit, timeout=10)
    over = httpx.post(proxy.url + "/api/orders", content=b" " * (limit + 1), timeout=10)
    assert at_limit.status_code == 401  # it reached the server, which wants a token first
    assert over.status_code == 413
    assert over.json()["error"]["code"] == "too_large"


async def test_a_rolling_restart_sends_visitors_to_another_process_where_they_resume(
        proxied: Callable[..., Proxied]) -> None:
    proxy = proxied(count=2, env={"CHATSERVER_VISITOR_SESSION_LIMIT": "0"})
    visitor, welcome = await Visitor.connect(proxy)
    await visitor.send("message", client_id="m1", text="hello?")
    ack = await visitor.expect("ack")
    [holder] = [s for s in proxy.servers if "/ws/visitor" in s.log.read_text()]
    holder.process.send_signal(signal.SIGTERM)  # as systemd stops one instance
    await asyncio.wait_for(visitor.ws.wait_closed(), 15)
    assert visitor.ws.close_code == 1012
    await asyncio.to_thread(holder.process.wait, 15)
    resumed, again = await Visitor.connect(  # nginx finds the process still running
        proxy, token=welcome["token"],
        conversation_id=ack["conversation_id"], last_seq=0)
    assert again["type"] == "welcome"
    assert [m["text"] for m in again["messages"]] == ["hello?"]
    await resumed.send("message", client_id="m1", text="hello?")  # resent: the first ack
    assert (await resumed.expect("ack"))["seq"] == ack["seq"]
    await resumed.ws.close()


async def test_a_chat_through_nginx_in_front_of_two_processes_on_postgresql_and_redis(
        proxied: Callable[..., Proxied], tmp_path: Path) -> None:
    async with postgres_schema(tmp_path) as database:
        proxy = proxied(count=2, database=database,
                        env={"CHATSERVER_BUS_URL": redis_url(),
                             "CHATSERVER_VISITOR_SESSION_LIMIT": "0"})
        token = add_agent(database, "ann@example.com", "Ann")
        ann = await websockets.connect(proxy.ws + "/ws/agent",
                                       additional_headers={"Authorization": f"Bearer {token}"})
        try:
            await ann.send(orjson.dumps({"type": "presence", "status": "available"}).decode())
            visitor, _ = await Visitor.connect(proxy)  # least_conn: the other process
            await visitor.send("message", client_id="m1", text="where is my parcel?")
            conversation_id = (await visitor.expect("ack"))["conversation_id"]
            while (frame := orjson.loads(await asyncio.wait_for(ann.recv(), 10)))["type"] \
                    != "assigned":
                pass
            assert frame["conversation"]["messages"][0]["text"] == (
                "where is my parcel?")
            await ann.send(orjson.dumps({"type": "message", "conversation_id": conversation_id,
                                         "client_id": "a1", "text": "On its way!"}).decode())
            while (said := await visitor.expect("message"))["text"] != "On its way!":
                pass
            assert said["author"]["name"] == "Ann"
            served = [s for s in proxy.servers if "/ws/visitor" in s.log.read_text()]
            assert len(served) == 1 and "/ws/agent" not in served[0].log.read_text()
            await visitor.ws.close()
        finally:
            await ann.close()
            proxy.stop()  # before the schema goes: a server still querying it would deadlock


def test_the_production_nginx_conf_with_its_tls_server_is_valid(tmp_path: Path) -> None:
    """deploy/nginx.conf as installed, its paths moved under `tmp_path` (pid, logs, the
    certificate: a self-signed one for chat.example.com), passes `nginx -t`."""
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=chat.example.com", "-keyout", str(certs / "privkey.pem"),
                    "-out", str(certs / "fullchain.pem")], check=True, capture_output=True)
    text = (DEPLOY / "nginx.conf").read_text()
    for production, here in (("/var/log/nginx/", f"{tmp_path}/"),
                             ("/run/nginx.pid", f"{tmp_path}/nginx.pid"),
                             ("/etc/ssl/chatserver/", f"{certs}/")):
        assert production in text
        text = text.replace(production, here)
    (tmp_path / "nginx.conf").write_text(text)
    (tmp_path / "chatserver").symlink_to(DEPLOY / "chatserver")
    checked = subprocess.run([nginx_binary(), "-t", "-p", str(tmp_path),
                              "-e", str(tmp_path / "error.log"),
                              "-c", str(tmp_path / "nginx.conf")],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
