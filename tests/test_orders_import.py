"""`chatserver orders import FILE` as a shop owner runs it: CSV with a header row or JSON
lines; bad rows reported as `FILE:LINE: reason` on standard error, good rows kept, a summary
line on standard output, exit status 1 when any row was bad."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import orjson
import pytest

from chatserver.store.sqlite import sqlite_path
from tests.backends import query
from tests.conftest import chatserver

SUMMARY = re.compile(r"(\d+) created, (\d+) updated, (\d+) unchanged, (\d+) bad")

CSV = """\
external_id,email,name,product,amount_cents,currency,purchased_at,status
1001,maya@example.com,Maya,Course Pro,4900,USD,2025-01-05T10:00:00Z,paid
1002,not-an-email,Bob,Course Basic,100,USD,,
1003,lee@example.com,Lee,Ebook,19.99,USD,,
1004,lee@example.com,Lee,Ebook,1999,DOLLAR,,
1005,lee@example.com,Lee,,1999,USD,,
1006,Lee@Example.com,Lee,Workshop,15000,eur,2025-02-01T09:30:00+01:00,
"""


def import_file(path: Path, db_url: str) -> tuple[int, str, list[str]]:
    """Exit status, the summary line, and the lines on standard error."""
    result = chatserver("orders", "import", str(path), "--db", db_url)
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr
    return result.returncode, lines[-1], result.stderr.splitlines()


def orders(db_url: str) -> list[tuple[object, ...]]:
    return query(db_url, "SELECT external_id, email, name, product, amount_cents, currency, "
                 "purchased_at, status, customer_id, created_at, updated_at FROM orders "
                 "ORDER BY external_id")


def test_a_csv_file_keeps_the_good_rows_and_reports_the_bad_ones(
        tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(CSV)
    status, summary, errors = import_file(path, db_url)
    assert status == 1
    assert summary == "2 created, 0 updated, 0 unchanged, 4 bad"
    assert len(errors) == 4, errors
    by_line = {}
    for error in errors:
        assert error.startswith(f"{path}:"), error
        line, reason = error.removeprefix(f"{path}:").split(": ", 1)
        by_line[int(line)] = reason
    assert set(by_line) == {3, 4, 5, 6}
    assert "email" in by_line[3]
    assert "amount_cents" in by_line[4]
    assert "currency" in by_line[5]
    assert "product" in by_line[6]
    rows = query(db_url, "SELECT external_id, email, product, amount_cents, currency, "
                 "purchased_at, status FROM orders ORDER BY external_id")
    assert [r[0] for r in rows] == ["1001", "1006"]
    assert rows[0][1:5] == ("maya@example.com", "Course Pro", 4900, "USD")
    assert str(rows[0][5]).startswith("2025-01-05T10:00:00") and rows[0][6] == "paid"
    assert rows[1][3:5] == (15000, "EUR")
    assert str(rows[1][5]).startswith("2025-02-01T08:30:00")  # kept in UTC
    assert rows[1][6] == "paid"  # the default status
    assert query(db_url, "SELECT COUNT(*) FROM customers") == [(2,)]


def test_a_json_lines_file_keeps_the_good_rows_and_reports_the_bad_ones(
        tmp_path: Path, db_url: str) -> None:
    good = {"external_id": "2001", "email": "maya@example.com", "name": "Maya",
            "product": "Course Pro", "amount_cents": 4900, "currency": "USD",
            "purchased_at": "2025-01-05T10:00:00Z"}
    lines = [
        orjson.dumps(good).decode(),                                        # 1: created
        "",                                                                 # 2: blank
        "{this is not json",                                                # 3: bad
        "[1, 2, 3]",                                                        # 4: bad
        orjson.dumps({**good, "external_id": "2002", "amount_cents": 19.99}).decode(),  # 5
        orjson.dumps({**good, "external_id": "2003", "email": None}).decode(),  # 6: bad
        orjson.dumps({**good, "amount_cents": 5900}).decode(),              # 7: updated
        orjson.dumps({k: v for k, v in good.items() if k != "purchased_at"}
                     | {"external_id": "2004"}).decode(),                  # 8: created
    ]
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(lines) + "\n")
    status, summary, errors = import_file(path, db_url)
    assert status == 1
    assert summary == "2 created, 1 updated, 0 unchanged, 4 bad"
    assert [e.split(": ", 1)[0] for e in errors] == [f"{path}:{n}" for n in (3, 4, 5, 6)]
    assert all(e.split(": ", 1)[1].strip() for e in errors)
    assert "amount_cents" in errors[2] and "email" in errors[3]
    assert query(db_url, "SELECT external_id, amount_cents FROM orders ORDER BY external_id") == [
        ("2001", 5900), ("2004", 4900)]


def test_only_good_rows_exit_zero(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(CSV.splitlines()[i] for i in (0, 1, 6)) + "\n")
    result = chatserver("orders", "import", str(path), "--db", db_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2 created, 0 updated, 0 unchanged, 0 bad"
    assert result.stderr == ""


def test_importing_the_same_file_twice_changes_nothing(tmp_path: Path, db_url: str) -> None:
    csv_path = tmp_path / "orders.csv"
    csv_path.write_text(CSV)
    json_path = tmp_path / "more.jsonl"
    json_path.write_text(orjson.dumps({
        "external_id": "3001", "email": "kim@example.com", "product": "Ebook",
        "amount_cents": 1999, "currency": "USD"}).decode() + "\n")
    assert import_file(csv_path, db_url)[1] == "2 created, 0 updated, 0 unchanged, 4 bad"
    assert import_file(json_path, db_url)[:2] == (0, "1 created, 0 updated, 0 unchanged, 0 bad")
    before = orders(db_url), query(db_url, "SELECT * FROM customers ORDER BY id")

    status, summary, errors = import_file(csv_path, db_url)
    assert (status, summary) == (1, "0 created, 0 updated, 2 unchanged, 4 bad")
    assert len(errors) == 4
    assert import_file(json_path, db_url)[:2] == (0, "0 created, 0 updated, 1 unchanged, 0 bad")
    assert (orders(db_url), query(db_url, "SELECT * FROM customers ORDER BY id")) == before


def test_a_changed_row_updates_its_order(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("external_id,email,product,amount_cents,currency\n"
                    "1001,maya@example.com,Course Pro,4900,USD\n")
    assert import_file(path, db_url)[1] == "1 created, 0 updated, 0 unchanged, 0 bad"
    [(purchased_at,)] = query(db_url, "SELECT purchased_at FROM orders")
    path.write_text("external_id,email,product,amount_cents,currency\n"
                    "1001,maya@example.com,Course Pro,3900,USD\n")
    assert import_file(path, db_url)[1] == "0 created, 1 updated, 0 unchanged, 0 bad"
    assert query(db_url, "SELECT amount_cents, purchased_at FROM orders") == [
        (3900, purchased_at)]


def test_a_row_lowering_an_order_below_its_refunds_is_reported_and_changes_nothing(
        tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("external_id,email,product,amount_cents,currency\n"
                    "1001,maya@example.com,Course Pro,4900,USD\n")
    import_file(path, db_url)
    chatserver("agents", "add", "ada@example.com", "--name", "Ada", "--db", db_url)
    refund_directly(db_url, {"kind": "refund", "customer_id": 1, "order_id": 1,
                             "amount_cents": 2000, "currency": "USD", "reason": "broken",
                             "agent_id": 1, "provider": "manual",
                             "created_at": "2026-01-01T00:00:00Z"})
    path.write_text("external_id,email,product,amount_cents,currency\n"
                    "1001,maya@example.com,Course Pro,1999,USD\n"
                    "1002,lee@example.com,Ebook,900,USD\n")
    status, summary, errors = import_file(path, db_url)
    assert (status, summary) == (1, "1 created, 0 updated, 0 unchanged, 1 bad")
    assert len(errors) == 1 and errors[0].startswith(f"{path}:2: ") and "20.00 USD" in errors[0]
    assert query(db_url, "SELECT external_id, amount_cents FROM orders ORDER BY id") == [
        ("1001", 4900), ("1002", 900)]


def refund_directly(db_url: str, entry: dict[str, object]) -> None:
    """A ledger entry written straight into the database, as a refund leaves it."""
    db = sqlite3.connect(sqlite_path(db_url))
    try:
        with db:
            db.execute(f"INSERT INTO ledger ({', '.join(entry)}) VALUES "
                       f"({', '.join('?' for _ in entry)})", tuple(entry.values()))
    finally:
        db.close()


@pytest.mark.parametrize("text", [
    "external_id,email,product,amount_cents,currency\r\n"
    "1001,maya@example.com,Course Pro,4900,USD\r\n",
    '{"external_id": "1001", "email": "maya@example.com", "product": "Course Pro", '
    '"amount_cents": 4900, "currency": "USD"}\n',
], ids=["csv", "json-lines"])
def test_a_file_saved_with_a_byte_order_mark_imports(
        tmp_path: Path, db_url: str, text: str) -> None:
    """Spreadsheets (Excel's "CSV UTF-8") and some editors start the file with a BOM."""
    path = tmp_path / "orders.txt"
    path.write_text(text, encoding="utf-8-sig")
    status, summary, errors = import_file(path, db_url)
    assert (status, summary, errors) == (0, "1 created, 0 updated, 0 unchanged, 0 bad", [])
    assert query(db_url, "SELECT external_id FROM orders") == [("1001",)]


def test_a_json_lines_file_whose_first_line_is_broken_keeps_its_good_rows(
        tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "orders.jsonl"
    path.write_text("{truncated by a crash\n" + orjson.dumps({
        "external_id": "2001", "email": "maya@example.com", "product": "Course Pro",
        "amount_cents": 4900, "currency": "USD"}).decode() + "\n")
    status, summary, errors = import_file(path, db_url)
    assert (status, summary) == (1, "1 created, 0 updated, 0 unchanged, 1 bad")
    assert [e.split(": ", 1)[0] for e in errors] == [f"{path}:1"]
    assert query(db_url, "SELECT external_id FROM orders") == [("2001",)]


def test_a_missing_file_is_one_line_and_status_2(tmp_path: Path, db_url: str) -> None:
    missing = tmp_path / "nope.csv"
    result = chatserver("orders", "import", str(missing), "--db", db_url)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "nope.csv" in result.stderr
    assert result.stdout == ""
