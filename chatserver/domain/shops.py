"""Orders from Shopify and WooCommerce webhooks, in each platform's own payload and signature,
as our orders (`orders.ORDER`, plus the platform's reference and the refunds it reports).

Sources for the shapes and signatures (the signature schemes also as restated in
https://www.skills.sh/hookdeck/webhook-skills/shopify-webhooks and
https://www.onsitewp.com/woocommerce-webhooks-secret-key/):
- Shopify: https://shopify.dev/docs/apps/build/webhooks (X-Shopify-Hmac-Sha256
  is the base64 HMAC-SHA256 of the raw body keyed with the app's or the store's webhook
  secret; X-Shopify-Topic names the topic), and the Order and Refund resources of the Admin
  REST API (https://shopify.dev/docs/api/admin-rest/latest/resources/order, .../refund):
  `id`, `name` ("#1042", the number on the customer's receipt, with the store's prefix or
  suffix), `order_number`, `email`, `customer`, `line_items` [{`title`, `quantity`}],
  `total_price` (a decimal string in `currency`), `total_outstanding`, `financial_status`,
  `cancelled_at`, `processed_at`, `updated_at`, `refunds` [{`id`, `transactions` [{`amount`,
  `currency`, `kind`, `status`}]}]; a refunds/create payload is one refund with `order_id`.
- WooCommerce: https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks
  (X-WC-Webhook-Signature: base64 HMAC-SHA256 of the raw body with the webhook's secret;
  X-WC-Webhook-Topic; on creation a ping `webhook_id=N`, form-encoded and unsigned) and
  .../#order-properties: `id`, `number`, `status`, `currency`, `total`, `billing`
  {`email`, `first_name`, `last_name`}, `line_items` [{`name`, `quantity`}], `refunds`
  [{`id`, `total` (negative)}], `date_created_gmt`, `date_paid_gmt`, `date_modified_gmt`.

What maps how (docs/shops.md says it for shop owners):
- `external_id` is what the customer reads on their receipt and quotes in the chat: Shopify's
  `name` without its "#" (it carries the store's prefix and suffix, `order_number` does not),
  WooCommerce's `number` (which numbering plug-ins change; `id` is the database row).
- `amount_cents` is what was paid: an order not paid yet (Shopify: pending, authorized,
  voided, expired; WooCommerce: no `date_paid_gmt` and not processing or completed, so
  pending, on-hold, failed, cancelled before payment) has nothing to refund, so 0.
- `shop_refunds` are the refunds the platform reports, by their id: the store adds them to
  those it knew, each once (orders.with_kept_fields), into `shop_refunded_cents`.
- The delivery's time, for replays and out-of-order deliveries, is the order's last change
  (`updated_at`, `date_modified_gmt`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chatserver.domain.errors import Refused
from chatserver.domain.frames import FrameError, check_fields
from chatserver.domain.ledger import parse_time
from chatserver.domain.money import MoneyError, currency, minor_units
from chatserver.domain.orders import ORDER

PRODUCT_LIMIT = 300  # orders.ORDER's `product`
SHOPIFY_UNPAID = frozenset({"pending", "authorized", "voided", "expired"})
WOOCOMMERCE_PAID = frozenset({"processing", "completed", "refunded"})
SHOPIFY_ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/cancelled",
                                  "orders/paid"})
WOOCOMMERCE_PING = re.compile(rb"webhook_id=[0-9]+")
# order.deleted carries only the id: the order stays here (its chats and ledger name it)
WOOCOMMERCE_ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.restored"})


@dataclass(frozen=True)
class ShopOrder:
    """An order as the store saves it (`orders.ORDER` with `shop_ref` and `shop_refunds`),
    and the time of its last change in Unix seconds."""

    fields: dict[str, Any]
    changed_at: int


@dataclass(frozen=True)
class ShopRefund:
    """One refund made in the platform, for its order `shop_ref`."""

    shop_ref: str
    refund_id: str
    cents: int


class NoBuyer(Exception):
    """An order with no buyer's email (a sale at a shop's till, say): no chat could verify
    it, so it is acknowledged and not saved (refusing it would only make the platform retry,
    and in the end drop the webhook)."""


def invalid(message: str) -> Refused:
    return Refused(422, "invalid", message)


def verify(secret: str | None, raw: bytes, signature: str | None, header: str) -> None:
    """401 unless `signature` is the base64 HMAC-SHA256 of `raw` with `secret` (both
    platforms sign so); with no secret set every delivery is refused."""
    if not secret:
        raise Refused(401, "bad_signature", f"no secret is set for {header}: webhooks are "
                      "refused")
    expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest())
    if not hmac.compare_digest((signature or "").strip().encode(), expected):
        raise Refused(401, "bad_signature", f"{header} must be the base64 HMAC-SHA256 of the "
                      "raw body with the webhook secret")


def is_woocommerce_ping(raw: bytes) -> bool:
    """WooCommerce's unsigned ping when a webhook is saved (nothing to apply)."""
    return WOOCOMMERCE_PING.fullmatch(raw.strip()) is not None


def shopify_order(payload: Mapping[str, Any]) -> ShopOrder:
    """A Shopify order payload (orders/create, updated, cancelled, paid) as our order."""
    code = checked_currency(payload.get("currency"))
    total = _amount(payload.get("total_price"), code, "total_price")
    outstanding = payload.get("total_outstanding")
    paid = total - (_amount(outstanding, code, "total_outstanding") if outstanding else 0)
    customer = payload.get("customer") or {}
    name = str(payload.get("name") or payload.get("order_number") or "").removeprefix("#")
    fields = _order({
        "external_id": name,
        "email": payload.get("email") or customer.get("email"),
        "name": _full_name(customer),
        "product": _product(payload.get("line_items"), "title"),
        "amount_cents": 0 if payload.get("financial_status") in SHOPIFY_UNPAID else max(0, paid),
        "currency": code,
        "purchased_at": payload.get("processed_at") or payload.get("created_at"),
        "status": "cancelled" if payload.get("cancelled_at") else payload.get("financial_status"),
    }, f"shopify:{_id(payload.get('id'))}",
        {_id(r.get("id")): _shopify_refunded(r, code) for r in _list(payload.get("refunds"))})
    return ShopOrder(fields, _changed_at(payload.get("updated_at"), "updated_at"))


def shopify_refund(payload: Mapping[str, Any]) -> ShopRefund:
    """A Shopify refunds/create payload: the refund, for the order it names."""
    transactions = _list(payload.get("transactions"))
    codes = {t.get("currency") for t in transactions if _counts(t)}
    if len(codes) > 1:
        raise invalid("the refund's transactions are in several currencies")
    code = checked_currency(codes.pop()) if codes else "USD"  # no money moved: any currency's 0
    return ShopRefund(f"shopify:{_id(payload.get('order_id'))}", _id(payload.get("id")),
                      _shopify_refunded(payload, code))


def woocommerce_order(payload: Mapping[str, Any]) -> ShopOrder:
    """A WooCommerce order payload (order.created, order.updated, ...) as our order."""
    code = checked_currency(payload.get("currency"))
    billing = payload.get("billing") or {}
    paid = payload.get("status") in WOOCOMMERCE_PAID or bool(payload.get("date_paid_gmt"))
    fields = _order({
        "external_id": str(payload.get("number") or payload.get("id") or ""),
        "email": billing.get("email"),
        "name": _full_name(billing),
        "product": _product(payload.get("line_items"), "name"),
        "amount_cents": _amount(payload.get("total"), code, "total") if paid else 0,
        "currency": code,
        "purchased_at": _gmt(payload.get("date_created_gmt")),
        "status": payload.get("status"),
    }, f"woocommerce:{_id(payload.get('id'))}",
        {_id(r.get("id")): _amount(str(r.get("total", "")).removeprefix("-"), code,
                                   "refunds.total")
         for r in _list(payload.get("refunds"))})
    return ShopOrder(fields, _changed_at(_gmt(payload.get("date_modified_gmt")),
                                         "date_modified_gmt"))


def checked_order(fields: dict[str, Any]) -> dict[str, Any]:
    """A platform's order checked as any order is (lengths, email, times); empty fields are
    left out (the order keeps what it had)."""
    if not fields.get("email"):
        raise NoBuyer(f"order {fields.get('external_id')} has no email")
    try:
        return check_fields({k: v for k, v in fields.items() if v not in (None, "")},
                            ORDER, "order")
    except FrameError as error:
        raise invalid(error.message) from None


def _order(fields: dict[str, Any], shop_ref: str, refunds: dict[str, int]) -> dict[str, Any]:
    return {**checked_order(fields), "shop_ref": shop_ref, "shop_refunds": refunds}


def _shopify_refunded(refund: Mapping[str, Any], code: str) -> int:
    """The money a Shopify refund gave back: its successful refund transactions."""
    return sum(_amount(t.get("amount"), code, "refund amount")
               for t in _list(refund.get("transactions")) if _counts(t))


def _counts(transaction: Mapping[str, Any]) -> bool:
    return transaction.get("kind") == "refund" and transaction.get("status") == "success"


def _product(items: Any, title: str) -> str:
    """The line items' titles joined ("Mug (2), Tea"), cut to the field's limit."""
    names = [f"{i.get(title)} ({i['quantity']})" if isinstance(i.get("quantity"), int)
             and i["quantity"] > 1 else str(i.get(title)) for i in _list(items) if i.get(title)]
    joined = ", ".join(names) or "(no items)"
    return joined if len(joined) <= PRODUCT_LIMIT else joined[:PRODUCT_LIMIT - 1] + "…"


def _full_name(person: Mapping[str, Any]) -> str | None:
    parts = [person.get("first_name"), person.get("last_name")]
    return " ".join(p for p in parts if isinstance(p, str) and p.strip())[:200] or None


def _amount(value: Any, code: str, what: str) -> int:
    try:
        return minor_units(value, code)
    except MoneyError as error:
        raise invalid(f"{what} {error}") from None


def checked_currency(value: Any) -> str:
    """A platform's currency code as ours (422 `invalid` if it names none)."""
    try:
        return currency(value)
    except MoneyError as error:
        raise invalid(f"currency {error}") from None


def _id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip() \
            or "\x00" in str(value):  # frames.no_nul: PostgreSQL keeps no NUL in text
        raise invalid("the payload names no id")
    return str(value)


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _gmt(value: Any) -> Any:
    """WooCommerce's `*_gmt` times carry no zone: they are UTC."""
    return f"{value}Z" if isinstance(value, str) and value and value[-1] not in "Zz" else value


def _changed_at(value: Any, what: str) -> int:
    try:
        moment = parse_time(value) if isinstance(value, str) else None
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise invalid(f"{what} must be an ISO-8601 time")
    return int(moment.timestamp())
