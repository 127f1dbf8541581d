"""Which parts may import which (docs/architecture.md), read from the package's own imports."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "chatserver"

SQLITE_BACKEND = "chatserver.store.sqlite"
POSTGRES_BACKEND = "chatserver.store.postgres"
STORE_BACKENDS = {SQLITE_BACKEND, POSTGRES_BACKEND}
BUS_BACKENDS = {"chatserver.bus.memory", "chatserver.bus.redis", "chatserver.bus.redis_link"}
RATE_LIMIT_BACKENDS = {"chatserver.ratelimit.memory", "chatserver.ratelimit.redis"}
ONLINE_BACKENDS = {"chatserver.online.memory", "chatserver.online.redis"}
SIGN_IN_BACKENDS = {"chatserver.signins.memory", "chatserver.signins.redis"}
REDIS_BACKENDS = {"chatserver.bus.redis", "chatserver.bus.redis_link", "chatserver.ratelimit.redis",
                  "chatserver.online.redis", "chatserver.signins.redis"}
STORE_URL_SWITCH = "chatserver.store"  # open_store imports the backend its URL names, lazily
IO_MODULES = {"asyncio", "sqlite3", "aiosqlite", "asyncpg", "redis", "socket", "smtplib",
              "aiosmtplib", "starlette", "uvicorn", "websockets", "httpx"}
# the start of a statement, in a string: SQL is written only inside a store backend
SQL = re.compile(r"^\s*(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b")
OUTER_PARTS = {"chatserver.store", "chatserver.bus", "chatserver.ratelimit", "chatserver.online",
               "chatserver.signins",
               "chatserver.redis_url", "chatserver.service", "chatserver.web",
               "chatserver.app", "chatserver.cli", "chatserver.demo", "chatserver.server",
               "chatserver.mail"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module the file imports, anywhere in it; `from a import b` counts as a and a.b
    (b may be a submodule)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def within(name: str, parts: set[str]) -> bool:
    return any(name == part or name.startswith(part + ".") for part in parts)


def imports_of(part: str) -> dict[str, set[str]]:
    """Each module of `part` (a package or module of chatserver) and what it imports."""
    return {module_name(path): imported(path) for path in sorted(PACKAGE.rglob("*.py"))
            if within(module_name(path), {part})}


def offenders(part: str, forbidden: set[str], exempt: set[str] | None = None) -> list[str]:
    """Imports of `forbidden` modules by the modules of `part`, but those within `exempt`."""
    return [f"{module} imports {name}" for module, names in imports_of(part).items()
            if not within(module, exempt or set())
            for name in sorted(names) if within(name, forbidden)]


def test_only_the_sqlite_backend_imports_sqlite() -> None:
    assert offenders("chatserver", {"sqlite3", "aiosqlite"}, exempt={SQLITE_BACKEND}) == []


def test_only_the_postgres_backend_imports_its_driver() -> None:
    assert offenders("chatserver", {"asyncpg"}, exempt={POSTGRES_BACKEND}) == []


def test_only_the_redis_backends_import_redis() -> None:
    assert offenders("chatserver", {"redis"}, exempt=REDIS_BACKENDS) == []


def test_only_the_store_url_switch_names_a_backend_and_no_backend_names_another() -> None:
    for backend in STORE_BACKENDS:
        outside = offenders("chatserver", {backend}, exempt={backend})
        assert [line for line in outside if not line.startswith(f"{STORE_URL_SWITCH} ")] == []


def test_sql_is_written_only_inside_a_store_backend() -> None:
    found = [f"{module_name(path)}: {node.value[:40]!r}" for path in sorted(PACKAGE.rglob("*.py"))
             if not within(module_name(path), STORE_BACKENDS)
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and SQL.match(node.value)]
    assert found == []


def test_the_domain_does_no_io_and_knows_no_outer_part() -> None:
    assert offenders("chatserver.domain", IO_MODULES | OUTER_PARTS) == []


def test_the_store_and_bus_interfaces_know_no_backend_and_no_caller() -> None:
    callers = {"chatserver.service", "chatserver.web", "chatserver.app", "chatserver.cli"}
    for shared in ("base", "types", "records", "tokens", "clock"):
        assert offenders(f"chatserver.store.{shared}", STORE_BACKENDS | callers) == []
    assert offenders("chatserver.bus.base", BUS_BACKENDS | callers) == []
    assert offenders("chatserver.ratelimit.base", RATE_LIMIT_BACKENDS | callers) == []
    assert offenders("chatserver.online.base", ONLINE_BACKENDS | callers) == []
    assert offenders("chatserver.signins.base", SIGN_IN_BACKENDS | callers) == []


def test_the_store_and_bus_know_nothing_of_services_or_the_web() -> None:
    callers = {"chatserver.service", "chatserver.web", "chatserver.app", "chatserver.cli"}
    assert offenders("chatserver.store", callers) == []
    assert offenders("chatserver.bus", callers) == []
    assert offenders("chatserver.ratelimit", callers) == []
    assert offenders("chatserver.online", callers) == []
    assert offenders("chatserver.signins", callers) == []


def test_services_know_nothing_of_the_web() -> None:
    assert offenders("chatserver.service", {"chatserver.web", "chatserver.app"}) == []


def test_the_web_and_services_use_no_backend_directly() -> None:
    backends = (STORE_BACKENDS | BUS_BACKENDS | RATE_LIMIT_BACKENDS | ONLINE_BACKENDS
                | SIGN_IN_BACKENDS)
    assert offenders("chatserver.web", backends) == []
    assert offenders("chatserver.service", backends) == []
