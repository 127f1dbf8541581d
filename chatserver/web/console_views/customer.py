"""The customer panel: who the customer is, orders, verify, refund and credit forms, the
ledger, approvals."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
