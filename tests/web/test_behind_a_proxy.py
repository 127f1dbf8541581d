"""Behind nginx every connection comes from the proxy: the address in X-Forwarded-For is the
visitor's own, and counts for the new-visitor limit, when the proxy is one of
FORWARDED_ALLOW_IPS (loopback by default); anyone else's X-Forwarded-For is not believed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import websockets

from chatserver.config import Limit
from tests.web.conftest import InProcessServer, Peer


async def hello_from(server: InProcessServer, forwarded_for: str) -> dict[str, Any]:
    """A new visitor's first answer, over a socket the proxy opened for `forwarded_for`."""
    ws = await websockets.connect(server.ws + "/ws/visitor",
                                  additional_headers={"X-Forwarded-For": forwarded_for})
    peer = Peer(ws)
    await peer.send("hello", token=None)
    frame = await peer.recv()
    await peer.close()
    return frame


async def test_behind_a_trusted_proxy_each_visitors_own_address_counts_for_the_limit(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(visitor_session_limit=Limit(1, 3600))  # the test's client is 127.0.0.1
    assert (await hello_from(server, "203.0.113.7"))["type"] == "welcome"
    refused = await hello_from(server, "203.0.113.7")
    assert (refused["type"], refused["code"]) == ("error", "rate_limited")
    assert (await hello_from(server, "198.51.100.20"))["type"] == "welcome"  # someone else


async def test_a_client_that_is_no_trusted_proxy_cannot_pose_as_another_address(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(visitor_session_limit=Limit(1, 3600), forwarded_allow_ips=("10.0.0.1",))
    assert (await hello_from(server, "203.0.113.7"))["type"] == "welcome"
    refused = await hello_from(server, "198.51.100.20")  # still 127.0.0.1, over its limit
    assert (refused["type"], refused["code"]) == ("error", "rate_limited")
