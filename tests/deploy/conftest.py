"""nginx as deploy/ configures it, run by the tests as an ordinary user would run it: on a
high port, its pid, logs and temporary files under the test's own folder.

The test's nginx.conf (`render`) is production's without its TLS server: it includes
deploy/chatserver/http.conf and deploy/chatserver/locations.conf as they are, and writes its
own `upstream chatserver` naming the ports of the test's `chatserver serve` processes (where
production includes deploy/chatserver/upstream.conf)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import LiveServer, free_port, start_server

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    assert found is not None, "nginx is not installed (apt-get install nginx; .ci/run does)"
    return found


def render(folder: Path, upstream_ports: list[int], port: int) -> Path:
    """The test's nginx.conf in `folder`, serving `port` in front of `upstream_ports`."""
    temp = {name: folder / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    servers = "".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n"
                      for p in upstream_ports)
    conf = folder / "nginx.conf"
    conf.write_text(
        f"user {pwd.getpwuid(os.getuid()).pw_name};\n"  # its workers write under `folder`
        f"pid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} info;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"    access_log {folder / 'access.log'};\n"
        + "".join(f"    {name}_temp_path {path};\n" for name, path in temp.items())
        + f"    include {DEPLOY / 'chatserver' / 'http.conf'};\n"
        "    upstream chatserver {\n"
        "        least_conn;\n"
        f"{servers}"
        "    }\n"
        "    server {\n"
        f"        listen 127.0.0.1:{port};\n"
        f"        include {DEPLOY / 'chatserver' / 'locations.conf'};\n"
        "    }\n"
        "}\n")
    return conf


@dataclass
class Proxied:
    """nginx on `url`, in front of `servers`."""

    url: str
    servers: list[LiveServer]
    nginx: subprocess.Popen[bytes]

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")

    def stop(self) -> None:
        """nginx and the servers stopped (again: harmless), so that their database may go."""
        if self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(10)
        for server in self.servers:
            server.stop()


def start_nginx(folder: Path, conf: Path, port: int) -> subprocess.Popen[bytes]:
    printed = folder / "nginx.out"
    with printed.open("wb") as output:  # nginx keeps its own copy of the descriptor
        process = subprocess.Popen(
            [nginx_binary(), "-p", str(folder), "-e", str(folder / "error.log"),
             "-c", str(conf), "-g", "daemon off;"], stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {printed.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("nginx did not start listening")


@pytest.fixture
def proxied(db_url: str, tmp_path: Path) -> Iterator[Callable[..., Proxied]]:
    """`proxied(count=1, env={...}, database=URL)`: that many `chatserver serve` processes
    on one database (the test's SQLite file unless named), and nginx in front of them."""
    started: list[Proxied] = []
    servers: list[LiveServer] = []

    def start(count: int = 1, env: dict[str, str] | None = None,
              database: str | None = None) -> Proxied:
        for n in range(count):
            servers.append(start_server(database or db_url, tmp_path / f"server{n}.log",
                                        env=env))
        folder = tmp_path / "nginx"
        folder.mkdir()
        port = free_port()
        nginx = start_nginx(folder, render(folder, [s.port for s in servers], port), port)
        started.append(Proxied(f"http://127.0.0.1:{port}", servers, nginx))
        return started[-1]
    yield start
    for proxy in started:
        proxy.stop()
    for server in servers:  # started before nginx failed to
        server.stop()
