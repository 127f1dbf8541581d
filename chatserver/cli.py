"""The `chatserver` command: serve, demo, agents add, tokens create, orders import, customers
export and erase."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, TypeVar

import orjson
import uvloop

from chatserver.config import Settings, SettingsError, bus_kind, database_kind
from chatserver.domain.errors import Refused
from chatserver.domain.models import ROLES
from chatserver.service.privacy import Privacy
from chatserver.service.server_life import DEAD_AFTER
from chatserver.store import AlreadyExists, StorageError, Store, open_store


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """Bad arguments: one line on standard error, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def capacity(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def record_id(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(text)
    return value


def port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError(text)
    return value


P = TypeVar("P", bound=argparse.ArgumentParser)


def with_db(p: P) -> P:
    # accepted at every level (`chatserver --db U tokens create E` too); SUPPRESS, so that a
    # level where it is not given leaves the value another level read
    p.add_argument("--db", metavar="URL", default=argparse.SUPPRESS,
                   help="database URL (default sqlite:///./chatserver.db)")
    return p


def group(commands: Any, name: str, text: str) -> Any:
    """A command with actions of its own (`agents add`, `tokens create`)."""
    return with_db(commands.add_parser(name, help=text)).add_subparsers(
        dest="action", required=True, parser_class=Parser)


def build_parser() -> Parser:
    parser = with_db(Parser(prog="chatserver", description="Live-chat customer-support server."))
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, text in (("serve", "migrate the schema, then serve"),
                       ("demo", "serve with demo data and a demo shop page at /demo")):
        serve = with_db(commands.add_parser(name, help=text))
        serve.add_argument("--host")
        serve.add_argument("--port", type=port)
        serve.set_defaults(run=run_serve)
    commands.choices["demo"].add_argument(
        "--shop-port", type=port, help="also serve the demo shop from this port, another origin "
        "(default: --port + 1; 0: off)")

    agents = group(commands, "agents", "manage agents")
    add = with_db(agents.add_parser("add", help="add an agent"))
    add.add_argument("email")
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--capacity", type=capacity, default=3)
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    add.set_defaults(run=run_agents_add)

    tokens = group(commands, "tokens", "manage API tokens")
    create = with_db(tokens.add_parser("create", help="print a new API token for an agent "
                                       "(EMAIL) or for the shop's systems (--integration)"))
    create.add_argument("email", nargs="?")
    create.add_argument("--integration", action="store_true",
                        help="a token for the shop's systems: writes orders, reads customers")
    create.add_argument("--label")
    create.set_defaults(run=run_tokens_create)
    orders = group(commands, "orders", "manage orders")
    load = with_db(orders.add_parser("import", help="import orders from CSV or JSON lines"))
    load.add_argument("file", type=argparse.FileType("r", encoding="utf-8-sig"))
    load.set_defaults(run=run_orders_import)

    customers = group(commands, "customers", "a customer's data on request")
    export = with_db(customers.add_parser("export", help="print (or write) everything held "
                                          "about a customer, as JSON"))
    export.add_argument("id", type=record_id)
    written = export.add_mutually_exclusive_group()
    written.add_argument("--out", metavar="FILE", help="write it to FILE instead")
    written.add_argument("--zip", metavar="FILE", help="write a zip to FILE: the JSON and the "
                         "files the customer's chats carry (as the API's ?format=zip)")
    export.set_defaults(run=run_customers_export)
    erase = with_db(customers.add_parser("erase", help="erase a customer's personal data and "
                                         "chats for good (the ledger's amounts stay)"))
    erase.add_argument("id", type=record_id)
    erase.add_argument("--reason", required=True, help="why (kept in the audit log)")
    erase.set_defaults(run=run_customers_erase)

    described = commands.add_parser("openapi", help="print the REST API's OpenAPI description")
    described.add_argument("--markdown", action="store_true",
                           help="as the reference page docs/api.md instead of JSON")
    described.set_defaults(run=run_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(database_url=getattr(args, "db", None),
                                     host=getattr(args, "host", None),
                                     port=getattr(args, "port", None))
        return int(args.run(args, settings) or 0)
    except (SettingsError, UsageError, ValueError, OSError, StorageError) as error:
        parser.exit(2, f"chatserver: error: {error}\n")


def with_store(settings: Settings, work: Callable[[Store], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        store = await open_store(settings.database_url, settings.attachments_dir)
        try:
            return await work(store)
        finally:
            await store.close()
    return asyncio.run(run())


def run_agents_add(args: argparse.Namespace, settings: Settings) -> int:
    from chatserver.web.auth import hash_password

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin read an empty password")

    async def add(store: Store) -> None:
        try:
            agent = await store.add_agent(args.email, args.name, args.role, args.capacity,
                                          hash_password(password) if password else None)
        except AlreadyExists as error:
            raise UsageError(str(error)) from None
        print(f"agent {agent.id} added: {agent.email} ({agent.role}, capacity {agent.capacity})")
    with_store(settings, add)
    return 0


def run_tokens_create(args: argparse.Namespace, settings: Settings) -> int:
    if (args.email is None) == (not args.integration):
        raise UsageError("tokens create takes an agent's EMAIL or --integration (one of them)")

    async def create(store: Store) -> str:
        if args.integration:
            return await store.create_token(None, args.label)
        found = await store.agent_login(args.email)
        if found is None:
            raise UsageError(f"no agent with email {args.email}")
        return await store.create_token(found[0].id, args.label)
    print(with_store(settings, create))
    return 0


def run_orders_import(args: argparse.Namespace, settings: Settings) -> int:
    """Good rows are kept (upserted by external_id), bad ones reported with their line."""
    from chatserver.domain.errors import Refused
    from chatserver.domain.orders import read_orders

    with args.file as source:
        rows = list(read_orders(source.read()))
    bad = 0

    def report(line: int, problem: str) -> None:
        nonlocal bad
        bad += 1
        print(f"{args.file.name}:{line}: {problem}", file=sys.stderr)
    for line, _, problem in rows:
        if problem is not None:
            report(line, problem)

    async def upsert(store: Store) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for line, order, _ in rows:
            if order is None:
                continue
            try:
                saved = await store.upsert_order(order)
            except Refused as error:  # e.g. an amount below what is already refunded
                report(line, error.message)
                continue
            counts[saved.change] += 1
        return counts
    counts = with_store(settings, upsert)
    print(f"{counts['created']} created, {counts['updated']} updated, "
          f"{counts['unchanged']} unchanged, {bad} bad")
    return 1 if bad else 0


def privacy_work(run: Callable[[Privacy], Awaitable[Any]]) -> Callable[[Store], Awaitable[Any]]:
    """`run` over the store, its refusals (no such customer, a chat still open) as errors."""
    async def work(store: Store) -> Any:
        try:
            return await run(Privacy(store, None, retention_days=0))
        except Refused as error:
            raise UsageError(error.message) from None
    return work


def run_customers_export(args: argparse.Namespace, settings: Settings) -> int:
    if args.zip is not None:
        data = with_store(settings, privacy_work(lambda privacy: privacy.export_zip(args.id)))
        with open(args.zip, "wb") as out:
            out.write(data)
        return 0
    document = with_store(settings, privacy_work(lambda privacy: privacy.export(args.id)))
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(text)
    return 0


def run_customers_erase(args: argparse.Namespace, settings: Settings) -> int:
    done = with_store(settings, privacy_work(
        lambda privacy: privacy.erase(args.id, None, args.reason)))["erased"]
    print(f"customer {done['customer_id']} erased: {done['visitors']} visitors, "
          f"{len(done['conversations'])} conversations")
    return 0


async def migrated(store: Store) -> None:
    """Nothing more: opening the store migrated it."""


def alone_or_shared(settings: Settings) -> Callable[[Store], Awaitable[None]]:
    """The check before serving: with the in-process bus this process hears no other, so
    no other may serve the same PostgreSQL database (one that heartbeat lately is alive)."""
    async def check(store: Store) -> None:
        if bus_kind(settings.bus_url) != "memory" or (
                database_kind(settings.database_url) != "postgresql"):
            return
        if await store.live_processes(DEAD_AFTER):
            raise UsageError(
                f"another chatserver process serves this database (a heartbeat within "
                f"{DEAD_AFTER:g} s) and the bus is memory://: the two would not hear each "
                "other; give every process the same redis:// CHATSERVER_BUS_URL")
    return check


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from chatserver.demo import seed
    from chatserver.server import serve

    demo = args.command == "demo"
    shop_port = None
    # The store is opened (and its schema migrated) here first, so that a database that
    # cannot be opened is a one-line error, not a failed start-up with a traceback.
    async def prepare(store: Store) -> Any:
        await alone_or_shared(settings)(store)
        return await (seed if demo else migrated)(store)
    logins = with_store(settings, prepare)
    if demo:
        shop_port = settings.port + 1 if args.shop_port is None else args.shop_port or None
        for who, email, password in logins:
            print(f"Demo {who}: {email}  password: {password}", flush=True)
        print(f"Console:    http://{settings.host}:{settings.port}/console", flush=True)
        shop = f"http://{settings.host}:{shop_port}/demo" if shop_port else (
            f"http://{settings.host}:{settings.port}/demo")
        print(f"Demo shop:  {shop}", flush=True)
        print("Try it: ask about order 1042 (maya@example.com), verify it and refund part of it.",
              flush=True)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(settings, shop_port=shop_port))
    return 0


def random_password() -> str:
    return secrets.token_urlsafe(12)


def run_openapi(args: argparse.Namespace, settings: Settings) -> None:
    from chatserver.app import create_app
    from chatserver.web.api_schemas import api_version
    from chatserver.web.openapi import document
    from chatserver.web.openapi_docs import markdown

    described = document(create_app(settings).routes, api_version())
    sys.stdout.write(markdown(described) if args.markdown
                     else json.dumps(described, indent=2) + "\n")
