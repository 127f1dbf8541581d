"""Whether a visitor has a socket open, on every backend."""

from __future__ import annotations

import pytest

from chatserver.online import VisitorsOnline, open_visitors_online


async def test_a_visitor_is_offline_until_a_socket_of_theirs_opens(
        online: VisitorsOnline) -> None:
    assert not await online.online("v1")
    await online.connected("v1")
    assert await online.online("v1")
    assert not await online.online("v2")


async def test_a_visitor_stays_online_until_their_last_socket_closes(
        online: VisitorsOnline) -> None:
    await online.connected("v1")
    await online.connected("v1")  # a second tab
    await online.disconnected("v1")
    assert await online.online("v1")
    await online.disconnected("v1")
    assert not await online.online("v1")


async def test_closing_the_record_forgets_this_processs_sockets(online_url: str) -> None:
    online = open_visitors_online(online_url)
    await online.connected("v1")
    await online.close()
    again = open_visitors_online(online_url)
    try:
        assert not await again.online("v1")
    finally:
        await again.close()


def test_a_bus_url_of_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="no record of visitors online"):
        open_visitors_online("nats://localhost")
