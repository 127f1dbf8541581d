"""The console's rules come from the server: which refund figures are at the risk threshold
(from the settings in force), and whether the
agent oversees the others (supervisors and admins)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.web.conftest import InProcessServer
from tests.web.test_commerce_api import Api, staff


def customer_after_one_refund(server: InProcessServer) -> dict[str, Any]:
    """Maya bought 200.00 and got 15.00 back (by an admin: no threshold holds them)."""
    admin, system = staff(server, ("ada@example.com", "admin"), ("sys@example.com", "admin"))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        shop = Api(server, system, client)
        order = shop.order("1042", amount=20000)
        ada = Api(server, admin, client)
        assert ada.refund(order["id"], 1500).status_code == 201
        return ada.customer(order["customer_id"])


def test_the_figures_say_which_are_at_the_default_threshold(
        serve: Callable[..., InProcessServer]) -> None:
    figures = customer_after_one_refund(serve())["refund_figures"]
    assert figures["refunds_90d"] == 1 and figures["refund_rate_lifetime"] == 0.075
    assert figures["thresholds"] == {"max_refunds_in_90_days": 2, "max_refund_rate": 0.5}
    assert figures["over_threshold"] == {"refunds_90d": False, "refund_rate_90d": False,
                                         "refund_rate_lifetime": False}


@pytest.mark.parametrize(("max_refunds", "max_rate", "flags"), [
    (1, 0.5, {"refunds_90d": True, "refund_rate_90d": False, "refund_rate_lifetime": False}),
    (2, 0.05, {"refunds_90d": False, "refund_rate_90d": True, "refund_rate_lifetime": True}),
])
def test_the_flags_follow_the_thresholds_in_the_settings(
        serve: Callable[..., InProcessServer], max_refunds: int, max_rate: float,
        flags: dict[str, bool]) -> None:
    server = serve(risk_max_refunds=max_refunds, risk_max_refund_rate=max_rate)
    figures = customer_after_one_refund(server)["refund_figures"]
    assert figures["thresholds"] == {"max_refunds_in_90_days": max_refunds,
                                     "max_refund_rate": max_rate}
    assert figures["over_threshold"] == flags


def console_page(server: InProcessServer, role: str) -> str:
    """The console page as an agent of `role` gets it."""
    server.staff(("sam@example.com", "Sam", role), password="pa55word")
    cookie = server.sign_in("sam@example.com", "pa55word")
    page = httpx.get(server.url + "/console", cookies={"chatserver_session": cookie or ""})
    assert page.status_code == 200
    return page.text


@pytest.mark.parametrize(("role", "oversees"), [("agent", "false"), ("supervisor", "true"),
                                                ("admin", "true")])
def test_the_console_page_says_whether_its_agent_oversees_the_others(
        server: InProcessServer, role: str, oversees: str) -> None:
    assert f'data-oversees="{oversees}"' in console_page(server, role)
