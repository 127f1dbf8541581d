"""Headless Chromium (Debian's, never a downloaded one) driven by Playwright.

Console tests open their contexts with `bypass_csp=True`: the console's Content-Security-Policy
would block injected scripts anyway, and the tests must prove the pages render text inertly
on their own (the header itself is checked in tests/web/test_console_auth.py).

Every context is opened by `new_context`, which pins the browser's locale and time zone: what a
test sees never depends on the machine it runs on. A test that needs the time of day fixes the
browser's clock too (`context.clock.set_fixed_time`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


# Module scope, not session: Playwright's sync API keeps an event loop running in this
# thread while it is started, and the socket tests' own loops cannot run beside it.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium)")
    browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


LOCALE = "en-US"  # a 12-hour clock: "08:30 PM"
TIMEZONE = "UTC"
DESKTOP = {"width": 1280, "height": 800}


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    """A browser context in a fixed locale and time zone (CSP bypassed unless told)."""
    return browser.new_context(**{"bypass_csp": True, "viewport": DESKTOP, "locale": LOCALE,
                                  "timezone_id": TIMEZONE, **options})


def desktop(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh desktop-sized browser context: its own cookies and storage, like another
    person's browser."""
    context = new_context(browser)
    yield context
    context.close()


context = pytest.fixture(desktop, name="context")
other_context = pytest.fixture(desktop, name="other_context")


def screenshot(page: object, name: str) -> Path:
    """Keep a screenshot as a test artefact (tests/artifacts/NAME.png)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    return path


WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_faults(page: Page, within: str | None = None) -> list[str]:
    """What axe-core finds against WCAG 2.1 A and AA on the page as it is now (or inside the
    element `within`, shadow root included): each element it faults, with why."""
    context = {"include": [[within]]} if within else None
    found = Axe().run(page, context=context, options={
        "runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]})
    return [f"{v['id']}: {', '.join(node['target'])}: {node['failureSummary']}"
            for v in found.response["violations"] for node in v["nodes"]]
