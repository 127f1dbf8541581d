"""The code stays lint-clean and type-checked: ruff and mypy run with the tests."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", "chatserver", "tests", "examples")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_package_of_the_server_is_installed_by_pip_install_dot() -> None:
    """`pip install .` installs the packages pyproject.toml names, and only those: a new
    package left out works in the editable install the tests use, and nowhere else."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts)
             for init in (ROOT / "chatserver").rglob("__init__.py")}
    assert found - listed == set()


def test_the_console_keeps_to_600_lines_of_javascript() -> None:
    """What shows server state is a template and a view; the console's scripts keep only what
    needs the socket or the keyboard (docs/console.md), within the budget issue 13 set."""
    scripts = sorted((ROOT / "console" / "assets").glob("*.js"))
    lines = {path.name: len(path.read_text().splitlines()) for path in scripts}
    assert "live.js" in lines and sum(lines.values()) <= 600, lines
