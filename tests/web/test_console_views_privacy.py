"""The admin page's Customer data section as htmx asks for it: a customer found by email,
their export's download link, an erase with its reason (refused in place without one, or
while they chat), everything escaped, and admins only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from chatserver.domain.models import Author
from chatserver.store import Store
from tests.conftest import on_store
from tests.web.conftest import InProcessServer
from tests.web.test_console_views_admin import (
    ESCAPED,
    MARKUP,
    PARTS,
    PASSWORD,
    console_client,
    notice,
    refusal,
)


@pytest.fixture
def server(serve: Callable[..., InProcessServer]) -> InProcessServer:
    server = serve()
    server.staff(("ada@example.com", "Ada", "admin"), ("sue@example.com", "Sue", "supervisor"),
                 password=PASSWORD)
    return server


@pytest.fixture
def ada(server: InProcessServer) -> Iterator[httpx.Client]:
    with console_client(server, "ada@example.com") as client:
        yield client


def customer_of(server: InProcessServer, name: str, email: str, closed: bool = True) -> int:
    """A signed-in customer who wrote once (their chat closed unless told otherwise)."""
    async def make(store: Store) -> int:
        visitor, token = await store.create_visitor({})
        visitor = await store.verify_visitor(visitor, token, email, email, name)
        posted = await store.post_visitor_message(Author("visitor", name, visitor.id), "c1",
                                                  "hello", None)
        if closed:
            await store.close_conversation(posted.message.conversation_id, "visitor", "bye")
        assert visitor.customer_id is not None
        return visitor.customer_id
    return on_store(server.settings.database_url, make)


def found_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-testid="privacy-customer" data-customer-id="(\d+)"',
                                       html)]


def test_a_customer_found_by_email_is_shown_with_a_download_link_to_their_export(
        server: InProcessServer, ada: httpx.Client) -> None:
    maya = customer_of(server, "Maya Lin", "maya@example.com")
    empty = ada.get(f"{PARTS}/privacy")  # read again on its own: the search form only
    assert empty.status_code == 200 and found_ids(empty.text) == []
    assert 'data-testid="privacy-find"' in empty.text
    found = ada.post(f"{PARTS}/privacy/find", data={"email": " MAYA@example.com "})
    assert found.status_code == 200 and found_ids(found.text) == [maya]
    assert "Maya Lin · maya@example.com" in found.text
    link = re.search(r'href="([^"]+)" download data-testid="privacy-export"', found.text)
    assert link is not None and link[1] == f"/api/customers/{maya}/export"
    exported = ada.get(link[1])  # the console's session is enough to download it
    assert exported.status_code == 200 and exported.json()["customer"]["id"] == maya
    none = ada.post(f"{PARTS}/privacy/find", data={"email": "nobody@example.com"})
    assert 'data-testid="privacy-none"' in none.text and found_ids(none.text) == []
    bad = ada.post(f"{PARTS}/privacy/find", data={"email": "not an email"})
    assert bad.status_code == 422 and "email" in refusal(bad.text)


def test_an_erase_takes_a_reason_and_closes_an_open_chat_first(
        server: InProcessServer, ada: httpx.Client) -> None:
    maya = customer_of(server, "Maya Lin", "maya@example.com", closed=False)
    no_reason = ada.post(f"{PARTS}/privacy/{maya}/erase", data={"reason": " "})
    assert no_reason.status_code == 422 and "reason" in refusal(no_reason.text)
    open_chat = ada.post(f"{PARTS}/privacy/{maya}/erase", data={"reason": "asked by email"})
    assert open_chat.status_code == 200, open_chat.text
    assert notice(open_chat.text) == f"Customer {maya} erased, with 1 conversation."
    omar = customer_of(server, "Omar", "omar@example.com")
    done = ada.post(f"{PARTS}/privacy/{omar}/erase", data={"reason": "asked by email"})
    assert done.status_code == 200, done.text
    assert notice(done.text) == f"Customer {omar} erased, with 1 conversation."
    again = ada.post(f"{PARTS}/privacy/find", data={"email": "omar@example.com"})
    assert found_ids(again.text) == []
    closed = ada.get("/console/parts/sidebar/closed").text  # the chat is shown as erased
    assert '<span class="conv-item-name">[erased]</span>' in closed and "Omar" not in closed
    missing = ada.post(f"{PARTS}/privacy/{omar + 100}/erase", data={"reason": "asked"})
    assert missing.status_code == 404


def test_what_the_section_shows_is_escaped_and_it_is_for_admins_only(
        server: InProcessServer, ada: httpx.Client) -> None:
    customer_of(server, MARKUP, "maya@example.com")
    found = ada.post(f"{PARTS}/privacy/find", data={"email": "maya@example.com"})
    assert ESCAPED in found.text and MARKUP not in found.text
    with console_client(server, "sue@example.com") as sue:
        assert sue.post(f"{PARTS}/privacy/find",
                        data={"email": "maya@example.com"}).status_code == 403
        assert sue.post(f"{PARTS}/privacy/1/erase", data={"reason": "x"}).status_code == 403
