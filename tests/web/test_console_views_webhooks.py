"""The admin page's Webhooks section as htmx asks for it: an endpoint added with its secret
shown once, refusals in place with what was typed, the recent deliveries with their last
answer, resend and delete, everything escaped, and admins only."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from chatserver.domain.webhooks import EVENTS, MAX_URL
from tests.web.conftest import InProcessServer
from tests.web.receiver import receiver
from tests.web.test_console_api import start_chat
from tests.web.test_console_views_admin import (
    ESCAPED,
    MARKUP,
    PARTS,
    PASSWORD,
    console_client,
    notice,
    refusal,
)

PUBLIC = "https://93.184.215.14/hooks"  # an address, not a name: nothing is looked up
SECRET = re.compile(r'data-testid="webhook-secret-value" [^>]*value="(whsec_[^"]+)"')


@pytest.fixture
def ada(serve: Callable[..., InProcessServer]) -> Iterator[httpx.Client]:
    """Ada the admin on a server whose webhooks may reach this machine (the receiver)."""
    server = serve(webhooks_allow_private=True)
    server.staff(("ada@example.com", "Ada", "admin"), ("ann@example.com", "Ann", "agent"),
                 password=PASSWORD)
    with console_client(server, "ada@example.com") as client:
        yield client


async def delivered(ada: httpx.Client) -> str:
    """The section once its delivery is shown delivered (the receiver has the post a moment
    before the server has kept its answer)."""
    deadline = time.monotonic() + 5
    while 'webhook-delivery-status">Delivered' not in (section := ada.get(
            f"{PARTS}/webhooks").text):
        assert time.monotonic() < deadline, section
        await asyncio.sleep(0.02)
    return section


def checked_events(html: str) -> list[str]:
    return re.findall(r'<input type="checkbox" name="events" value="([\w.]+)" checked>', html)


def test_an_endpoint_is_added_with_its_secret_shown_this_once(ada: httpx.Client) -> None:
    empty = ada.get(f"{PARTS}/webhooks").text
    assert 'data-testid="webhooks-empty"' in empty
    assert f'name="url" type="url" required maxlength="{MAX_URL}"' in empty
    assert checked_events(empty) == list(EVENTS)  # all, until the admin unticks some
    added = ada.post(f"{PARTS}/webhooks", data={"url": PUBLIC, "events": [
        "message.created", "conversation.closed"]})
    assert added.status_code == 200 and notice(added.text) == "Endpoint added."
    secret = SECRET.search(added.text)
    assert secret is not None and ada.get(f"{PARTS}/webhooks").text.count("whsec_") == 0
    assert added.headers["cache-control"] == "no-store"
    assert "message.created, conversation.closed" in added.text  # in EVENTS order
    assert "<code>https://93.184.215.14/hooks</code>" in added.text


def test_a_refused_endpoint_says_why_in_the_form_and_keeps_what_was_typed(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve()  # private addresses refused
    server.staff(("ada@example.com", "Ada", "admin"), password=PASSWORD)
    with console_client(server, "ada@example.com") as ada:
        private = ada.post(f"{PARTS}/webhooks", data={"url": "http://10.1.2.3/hooks",
                                                      "events": ["follow_up.due"]})
        assert private.status_code == 422
        assert refusal(private.text).startswith("10.1.2.3 is a loopback, private or link-local")
        assert 'value="http://10.1.2.3/hooks"' in private.text
        assert checked_events(private.text) == ["follow_up.due"]
        none = ada.post(f"{PARTS}/webhooks", data={"url": PUBLIC})
        assert none.status_code == 422
        assert refusal(none.text) == ("Webhook endpoint: events must be a non-empty list of "
                                      "event names.")
        assert checked_events(none.text) == []


async def test_deliveries_show_their_last_answer_and_are_resent_and_deleted_in_place(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(webhooks_allow_private=True)
    server.staff(("ada@example.com", "Ada", "admin"), password=PASSWORD)
    with receiver(answer=MARKUP.encode()) as shop, \
            console_client(server, "ada@example.com") as ada:
        ada.post(f"{PARTS}/webhooks", data={"url": shop.url + "?" + MARKUP,
                                            "events": ["conversation.created"]})
        await start_chat(server, "hello")
        await shop.wait_for(1)
        section = await delivered(ada)
        [delivery_id] = re.findall(r'data-testid="webhook-delivery" data-delivery-id="(\d+)"',
                                   section)
        assert f"<code>msg_{delivery_id}</code>" in section
        assert "<code>conversation.created</code>" in section
        assert f"200 <span class=\"pg-muted\">{ESCAPED}</span>" in section
        assert MARKUP not in section and "<img" not in section
        resent = ada.post(f"{PARTS}/webhooks/deliveries/{delivery_id}/resend")
        assert resent.status_code == 200
        assert notice(resent.text) == f"msg_{delivery_id} will be sent again."
        await shop.wait_for(2)
        assert shop.requests[1].headers["webhook-id"] == f"msg_{delivery_id}"
        endpoint_id = re.findall(r'data-endpoint-id="(\d+)"', resent.text)[0]
        deleted = ada.delete(f"{PARTS}/webhooks/{endpoint_id}")
        assert deleted.status_code == 200 and notice(deleted.text) == "Endpoint deleted."
        assert 'data-testid="webhooks-empty"' in deleted.text
        assert ada.delete(f"{PARTS}/webhooks/{endpoint_id}").status_code == 404
        assert ada.post(f"{PARTS}/webhooks/deliveries/{delivery_id}/resend"
                        ).status_code == 404


def test_only_admins_see_or_change_webhooks(serve: Callable[..., InProcessServer]) -> None:
    server = serve()
    server.staff(("sue@example.com", "Sue", "supervisor"), password=PASSWORD)
    with console_client(server, "sue@example.com") as sue:
        for answer in (sue.get(f"{PARTS}/webhooks"),
                       sue.post(f"{PARTS}/webhooks", data={"url": PUBLIC,
                                                           "events": ["message.created"]}),
                       sue.delete(f"{PARTS}/webhooks/1"),
                       sue.post(f"{PARTS}/webhooks/deliveries/1/resend")):
            assert answer.status_code == 403
            assert "whsec_" not in answer.text
