"""The `chatserver` command as a user runs it: separate processes, exit codes, one-line errors."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from chatserver.store import open_store
from chatserver.store.sqlite.migrations import MIGRATIONS
from tests.conftest import LiveServer, chatserver, free_port, query, start_server
from tests.store.conftest import postgres_schema


def test_agents_add_and_tokens_create(db_url: str) -> None:
    added = chatserver("agents", "add", "ann@example.com", "--name", "Ann", "--role",
                       "supervisor", "--capacity", "5", "--password-stdin", "--db", db_url,
                       stdin="correct horse\nignored second line\n")
    assert added.returncode == 0, added.stderr
    [row] = query(db_url, "SELECT name, role, capacity, password_hash FROM agents")
    assert row[:3] == ("Ann", "supervisor", 5) and str(row[3]).startswith("$argon2")
    created = chatserver("tokens", "create", "ann@example.com", "--label", "zapier", "--db",
                         db_url)
    assert created.returncode == 0
    lines = created.stdout.splitlines()
    assert len(lines) == 1 and len(lines[0]) >= 40


def test_tokens_create_integration_prints_a_token_for_the_shops_systems(
        live_server: LiveServer) -> None:
    created = chatserver("tokens", "create", "--integration", "--label", "shop back end",
                         "--db", live_server.db_url)
    assert created.returncode == 0, created.stderr
    [token] = created.stdout.splitlines()
    assert query(live_server.db_url, "SELECT agent_id, label FROM api_tokens") == [
        (None, "shop back end")]
    order = httpx.post(live_server.url + "/api/orders", timeout=10, json={
        "external_id": "1042", "email": "maya@example.com", "product": "Course Pro",
        "amount_cents": 4900, "currency": "USD"}, headers={"Authorization": f"Bearer {token}"})
    assert order.status_code == 201, order.text


def test_db_may_come_anywhere_on_the_line(db_url: str) -> None:
    added = chatserver("agents", "add", "--db", db_url, "bo@example.com", "--name", "Bo")
    assert added.returncode == 0, added.stderr
    tokens = set()
    for args in (["--db", db_url, "tokens", "create", "bo@example.com"],
                 ["tokens", "--db", db_url, "create", "bo@example.com"],
                 ["tokens", "create", "bo@example.com", "--db", db_url]):
        created = chatserver(*args)
        assert created.returncode == 0, (args, created.stderr)
        tokens.add(created.stdout.strip())
    assert query(db_url, "SELECT COUNT(*) FROM api_tokens") == [(3,)] and len(tokens) == 3


def test_bad_arguments_give_one_line_and_status_2(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    for args in (["agents", "add", "x@example.com", "--db", db_url],  # --name missing
                 ["agents", "add", "x@example.com", "--name", "X", "--role", "boss"],
                 ["agents", "add", "x@example.com", "--name", "X", "--capacity", "-1"],
                 ["tokens", "create", "nobody@example.com", "--db", db_url],
                 ["tokens", "create", "--db", db_url],  # whose: an email or --integration
                 ["tokens", "create", "x@example.com", "--integration", "--db", db_url],
                 ["serve", "--port", "eighty"], ["serve", "--port", "99999"],
                 ["serve", "--db", "postgres://nowhere/chat"],
                 ["serve", "--db", f"sqlite:///{tmp_path}/a-file/under/a-file.db"],
                 ["frobnicate"], []):
        result = chatserver(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        assert result.stdout == ""


def chatserver_with_env(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chatserver", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env})


def test_serve_refuses_sqlite_with_a_redis_bus_in_one_line_before_touching_the_database(
        tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    result = chatserver_with_env({"CHATSERVER_BUS_URL": "redis://127.0.0.1:6379/0"},
                                 "serve", "--port", str(free_port()),
                                 "--db", f"sqlite:///{database}")
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "SQLite" in line and "memory://" in line and "do not hear each other" in line
    assert result.stdout == "" and not database.exists()


async def test_serve_with_the_memory_bus_refuses_a_postgresql_database_another_process_serves(
        tmp_path: Path) -> None:
    async with postgres_schema(tmp_path) as url:
        store = await open_store(url)
        try:
            await store.register_process("elsewhere:8000")  # alive: it heartbeat just now
            result = chatserver_with_env({"CHATSERVER_BUS_URL": "memory://"},
                                         "serve", "--port", str(free_port()), "--db", url)
        finally:
            await store.close()
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "another chatserver process serves this database" in line and "redis://" in line
    assert result.stdout == ""


def test_bad_database_and_bus_urls_give_one_line_and_status_2_without_the_password(
        db_url: str) -> None:
    for env, args in (({}, ["serve", "--db", "mysql://chat@db/chat"]),
                      ({}, ["tokens", "create", "--integration",
                            "--db", "postgresql://chat:s3cret@db:port/chat"]),
                      ({"CHATSERVER_DATABASE_URL": "postgres://chat:s3cret@db"},
                       ["agents", "add", "x@example.com", "--name", "X"]),
                      ({"CHATSERVER_BUS_URL": "redis://:s3cret@cache/0?prefix=a b"},
                       ["serve", "--db", "postgresql://chat@db/chat"]),
                      ({"CHATSERVER_BUS_URL": "rabbitmq://cache"}, ["serve", "--db", db_url])):
        result = chatserver_with_env(env, *args)
        assert result.returncode == 2, (env, args, result.stderr)
        [line] = result.stderr.strip().splitlines()
        assert "URL is" in line and "s3cret" not in line, line


def test_adding_the_same_agent_twice_is_refused_and_keeps_the_first(db_url: str) -> None:
    assert chatserver("agents", "add", "ann@example.com", "--name", "Ann",
                      "--db", db_url).returncode == 0
    again = chatserver("agents", "add", "ANN@example.com", "--name", "Other", "--db", db_url)
    assert again.returncode == 2 and "already exists" in again.stderr
    names = query(db_url, "SELECT name FROM agents")
    assert names == [("Ann",)]


def test_agents_and_tokens_made_while_the_server_runs_work_at_once(
        live_server: LiveServer) -> None:
    assert chatserver("agents", "add", "late@example.com", "--name", "Late",
                      "--db", live_server.db_url).returncode == 0
    token = chatserver("tokens", "create", "late@example.com",
                       "--db", live_server.db_url).stdout.strip()
    response = httpx.get(live_server.url + "/api/conversations/1",
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404  # authenticated: the conversation just doesn't exist


def test_serve_migrates_an_empty_database_before_serving(live_server: LiveServer) -> None:
    [(version,)] = query(live_server.db_url, "PRAGMA user_version")
    assert version == len(MIGRATIONS)


def test_demo_prints_an_agent_and_an_admin_login_and_serves_the_shop_from_another_origin(
        db_url: str, tmp_path: Path) -> None:
    shop_port = free_port()
    server = start_server(db_url, tmp_path / "demo.log", "--shop-port", str(shop_port),
                          command="demo", env={"CHATSERVER_ALLOWED_ORIGINS": ""})
    try:
        printed = (tmp_path / "demo.log").read_text()
        login = re.search(r"Demo agent: (\S+)\s+password: (\S+)", printed)
        admin = re.search(r"Demo admin: (\S+)\s+password: (\S+)", printed)
        assert login is not None and admin is not None, printed
        with signed_in(server.url, login[1], login[2]) as client:
            assert client.get("/console").status_code == 200
            assert client.get("/console/reports").status_code == 200
        with signed_in(server.url, admin[1], admin[2]) as client:
            assert client.get("/console/admin").status_code == 200
        shop = httpx.get(f"http://127.0.0.1:{shop_port}/demo")
        assert shop.status_code == 200
        assert f'src="{server.url}/widget.js?v=' in shop.text
        token = chatserver("tokens", "create", login[1], "--db", db_url).stdout.strip()
        found = httpx.get(server.url + "/api/customers?email=maya@example.com",
                          headers={"Authorization": f"Bearer {token}"}).json()["customers"]
        assert len(found) == 1  # demo orders to verify and refund
    finally:
        server.stop()


@contextlib.contextmanager
def signed_in(url: str, email: str, password: str) -> Iterator[httpx.Client]:
    """A browser-like client signed in to the console through its login form."""
    with httpx.Client(base_url=url) as client:
        form = client.get("/console/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        client.post("/console/login", data={"csrf": csrf.group(1), "email": email,
                                            "password": password})
        yield client
