"""An agent refunds a Stripe order from the console's customer panel, in a live chat: the
agent sees what Stripe made of it (a refusal as a refusal, the refund's status in the
ledger), and the visitor is told a refund was issued only when Stripe made one."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.fakes.stripe_server import CHARGE_REFUNDED, fake_stripe
from tests.web.conftest import InProcessServer, Peer, agent
from tests.web.test_console_api import served_by, start_chat
from tests.web.test_console_views_conversation import PASSWORD, signed_in
from tests.web.test_console_views_customer import key_of
from tests.web.test_stripe import WEBHOOK_SECRET, Shop


async def system_texts_until(visitor: Peer, words: str) -> list[str]:
    """The system messages the visitor reads, up to the one with these words."""
    texts: list[str] = []
    while not texts or words not in texts[-1]:
        frame = await visitor.expect("message")
        if frame["author"]["role"] == "system":
            texts.append(frame["text"])
    return texts


async def test_the_agent_sees_stripes_refusal_and_the_visitor_hears_only_of_a_real_refund(
        serve: Callable[..., InProcessServer]) -> None:
    with fake_stripe() as stripe:
        server = serve(stripe_secret_key=stripe.api_key, stripe_webhook_secret=WEBHOOK_SECRET,
                       stripe_api_base=stripe.url)
        [ann_token] = server.staff(("ann@example.com", "Ann", "agent"), password=PASSWORD)
        ann = await agent(server, ann_token)
        maya, conversation_id = await start_chat(server, "Please refund my course",
                                                 name="Maya")
        assert await served_by(maya) == "Ann"
        await ann.expect("assigned")
        with httpx.Client(base_url=server.url, timeout=10) as client:
            order = Shop(server, client, "", stripe).paid_order()
        console = signed_in(server, "ann@example.com")
        parts = f"/console/parts/customer/{conversation_id}"
        verified = console.post(f"{parts}/verify", order="pi_1", email="maya@example.com")
        assert verified.status_code == 200, verified.text
        refund = f"{parts}/customers/{order['customer_id']}/orders/{order['id']}/refund"

        stripe.refuse = CHARGE_REFUNDED
        refused = console.post(refund, key=key_of(verified.text, order["id"]), amount="20",
                               reason="Never started")
        assert "Stripe did not refund 20.00 USD." in refused.text
        assert "Charge ch_1 has already been refunded." in refused.text
        assert 'data-testid="provider-status" data-status="failed"' in refused.text

        stripe.refuse, stripe.status = None, "pending"
        done = console.post(refund, key=key_of(refused.text, order["id"]), amount="20",
                            reason="Never started")
        assert "Refunded 20.00 USD through Stripe." in done.text
        assert 'data-status="pending"' in done.text and "<code>re_1</code>" in done.text
        assert len(stripe.refunds) == 1

        told = await system_texts_until(maya, "has been issued")
        assert [t for t in told if "refund" in t.lower()] == [
            "A refund of 20.00 USD for order pi_1 has been issued."]
