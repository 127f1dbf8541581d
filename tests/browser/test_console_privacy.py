"""The admin page's Customer data section in a real browser against a real server: a
customer found by email, their export downloaded, then erased with a reason after a
confirmation, and checked where it takes effect (the API)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, Dialog, Page, expect

from chatserver.domain.models import Author
from chatserver.store import Store
from tests.browser.conftest import axe_faults
from tests.browser.test_console import sign_in
from tests.conftest import LiveServer, add_agent, on_store

PASSWORD = "correct horse battery staple"


async def maya(store: Store) -> int:
    """Maya, signed in on the shop, in a chat now closed."""
    visitor, token = await store.create_visitor({"name": "Maya"})
    visitor = await store.verify_visitor(visitor, token, "u-7", "maya@example.com", "Maya Lin")
    posted = await store.post_visitor_message(Author("visitor", "Maya", visitor.id), "c1",
                                              "where is my parcel?", None)
    await store.close_conversation(posted.message.conversation_id, "visitor", "closed")
    assert visitor.customer_id is not None
    return visitor.customer_id


@pytest.fixture
def ada(live_server: LiveServer) -> str:
    return add_agent(live_server.db_url, "ada@example.com", "Ada Admin", "admin",
                     password=PASSWORD)


@pytest.fixture
def dialogs() -> list[str]:
    return []


@pytest.fixture
def admin_page(live_server: LiveServer, ada: str, context: BrowserContext,
               dialogs: list[str]) -> Iterator[Page]:
    """Ada on the Admin page; confirmation dialogs are accepted (and kept in `dialogs`)."""
    page = context.new_page()

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()
    page.on("dialog", accept)
    sign_in(page, live_server.url, "ada@example.com", PASSWORD)
    page.goto(live_server.url + "/console/admin#privacy")
    yield page


def test_an_admin_finds_a_customer_downloads_their_export_and_erases_them(
        live_server: LiveServer, ada: str, admin_page: Page, dialogs: list[str]) -> None:
    customer_id = on_store(live_server.db_url, maya)
    section = admin_page.locator("[data-section='privacy']")
    section.get_by_label("Customer's email").fill("maya@example.com")
    section.get_by_role("button", name="Find").click()
    found = section.get_by_test_id("privacy-customer")
    expect(found).to_contain_text("Maya Lin · maya@example.com")
    assert axe_faults(admin_page, "[data-section='privacy']") == []

    with admin_page.expect_download() as downloading:
        found.get_by_role("link", name="Download export").click()
    download = downloading.value
    assert download.suggested_filename == f"customer-{customer_id}-export.json"
    document = json.loads(download.path().read_text(encoding="utf-8"))
    assert document["customer"]["email"] == "maya@example.com"

    found.get_by_label("Why (kept in the audit log)").fill("asked by email")
    found.get_by_role("button", name="Erase").click()
    expect(section.locator("[data-notice]")).to_have_text(
        f"Customer {customer_id} erased, with 1 conversation.")
    assert dialogs == ["Erase maya@example.com for good? Their name, email and chats cannot be "
                       "brought back."]
    customer = httpx.get(f"{live_server.url}/api/customers/{customer_id}", timeout=10,
                         headers={"Authorization": f"Bearer {ada}"}).json()
    assert (customer["email"], customer["name"]) == (None, None)
    assert customer["audit"][-1]["detail"]["reason"] == "asked by email"
