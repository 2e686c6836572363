"""Turn stored Shopify and WooCommerce deliveries into contacts, orders, events, consent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leads.models import Consent, Contact, Identity, InboundDelivery, Order, Source
from leads.services.consent import consent_set
from leads.services.events import event_record
from leads.services.identity import contact_resolve, contact_save_changes
from leads.services.inbound import handles
from leads.services.orders import LineData, OrderData, RefundData, order_upsert, refund_record
from leads.services.privacy import contact_erase, contact_export

SHOPIFY, WOO = Source.Kind.SHOPIFY, Source.Kind.WOOCOMMERCE


def _body(delivery: InboundDelivery) -> dict[str, Any]:
    payload = json.loads(bytes(delivery.body))
    if not isinstance(payload, dict):
        raise ValueError("payload is not a JSON object")
    return payload


def _money(value: Any) -> Decimal:
    try:
        return abs(Decimal(str(value if value not in (None, "") else 0))).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def _time(value: Any, *, default: datetime | None = None) -> datetime:
    parsed = parse_datetime(str(value)) if value else None
    if parsed is None:
        if default is None:
            raise ValueError(f"not a date-time: {value!r}")
        return default
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _record_event(
    contact: Contact, source: Source, name: str, properties: dict[str, Any], at: datetime, key: str
) -> None:
    event_record(
        contact=contact,
        source=source,
        name=name,
        properties=properties,
        occurred_at=at,
        message_id=key,
    )


def _fill(contact: Contact, **fields: Any) -> None:
    for name, value in fields.items():
        if value and not getattr(contact, name):
            setattr(contact, name, str(value)[: Contact._meta.get_field(name).max_length])  # type: ignore[union-attr]


def _seen(contact: Contact, at: datetime) -> None:
    if not contact.last_seen_at or at > contact.last_seen_at:
        contact.last_seen_at = at
    if at < contact.created_at:  # history sent late: the contact existed since then
        contact.created_at = at


# --- Shopify ---------------------------------------------------------------------------

SHOPIFY_CONSENT = {"subscribed": Consent.Status.GRANTED, "unsubscribed": Consent.Status.DENIED}


def _shopify_contact(source: Source, data: dict[str, Any]) -> Contact | None:
    customer = data.get("customer") or {}
    email = data.get("email") or data.get("contact_email") or customer.get("email")
    phone = data.get("phone") or customer.get("phone")
    customer_id = customer.get("id") or (
        data.get("id") if "orders_count" in data or "first_name" in data else None
    )
    keys = [
        (Identity.Kind.SHOP_CUSTOMER, f"{source.slug}:{customer_id}" if customer_id else None),
        (Identity.Kind.EMAIL, email),
        (Identity.Kind.PHONE, phone),
    ]
    if not any(value for _, value in keys):
        return None
    contact = contact_resolve(keys=keys, source=source)
    person = customer or data
    address = person.get("default_address") or data.get("billing_address") or {}
    _fill(
        contact,
        first_name=person.get("first_name"),
        last_name=person.get("last_name"),
        company=address.get("company"),
        country=address.get("country_code"),
        locale=data.get("customer_locale"),
    )
    return contact


def _shopify_consent(
    contact: Contact, source: Source, person: dict[str, Any], at: datetime
) -> None:
    for channel, key in (
        (Consent.Channel.EMAIL, "email_marketing_consent"),
        (Consent.Channel.SMS, "sms_marketing_consent"),
    ):
        state = (person.get(key) or {}).get("state")
        if state in SHOPIFY_CONSENT:
            consent_set(
                contact=contact,
                channel=channel,
                status=SHOPIFY_CONSENT[state],
                source=f"shopify:{source.slug}",
                at=_time((person.get(key) or {}).get("consent_updated_at"), default=at),
                proof={key: person[key]},
            )


def _shopify_order(data: dict[str, Any]) -> OrderData:
    status = {
        "paid": "paid",
        "refunded": "refunded",
        "partially_refunded": "partially_refunded",
        "voided": "cancelled",
    }.get(data.get("financial_status") or "", "pending")
    if data.get("cancelled_at"):
        status = "cancelled"
    elif data.get("fulfillment_status") == "fulfilled" and status == "paid":
        status = "fulfilled"
    shipping = ((data.get("total_shipping_price_set") or {}).get("shop_money") or {}).get(
        "amount", 0
    )
    placed = _time(data.get("created_at") or data.get("processed_at"))
    refunds = [
        RefundData(
            shop_refund_id=str(r["id"]),
            amount=sum(
                (
                    _money(t.get("amount"))
                    for t in r.get("transactions") or []
                    if t.get("kind") == "refund"
                ),
                Decimal("0"),
            ),
            reason=str(r.get("note") or "")[:300],
            refunded_at=_time(r.get("created_at"), default=placed),
        )
        for r in data.get("refunds") or []
    ]
    return OrderData(
        shop_order_id=str(data["id"]),
        order_number=str(data.get("name") or data.get("order_number") or ""),
        status=status,
        currency=str(data.get("currency") or "USD")[:3],
        subtotal=_money(data.get("subtotal_price")),
        discount_total=_money(data.get("total_discounts")),
        shipping_total=_money(shipping),
        tax_total=_money(data.get("total_tax")),
        total=_money(data.get("total_price")),
        coupon_codes=[
            str(d.get("code")) for d in data.get("discount_codes") or [] if d.get("code")
        ],
        placed_at=placed,
        updated_at=_time(data.get("updated_at"), default=placed),
        lines=[
            LineData(
                external_id=str(li.get("id") or ""),
                product_id=str(li.get("product_id") or ""),
                sku=str(li.get("sku") or ""),
                name=str(li.get("title") or li.get("name") or "")[:300],
                quantity=int(li.get("quantity") or 1),
                unit_price=_money(li.get("price")),
                total=_money(li.get("price")) * int(li.get("quantity") or 1),
            )
            for li in data.get("line_items") or []
        ],
        refunds=refunds,
    )


def _order_event_properties(order_data: OrderData) -> dict[str, Any]:
    return {
        "order_id": order_data.shop_order_id,
        "total": str(order_data.total),
        "currency": order_data.currency,
        "coupon": ",".join(order_data.coupon_codes),
        "products": [
            {
                "product_id": li.product_id,
                "sku": li.sku,
                "name": li.name,
                "quantity": li.quantity,
                "price": str(li.unit_price),
            }
            for li in order_data.lines
        ],
    }


@handles(
    SHOPIFY,
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
)
def shopify_order(delivery: InboundDelivery) -> bool:
    data, source = _body(delivery), delivery.source
    if "id" not in data:
        raise ValueError("order without id")
    contact = _shopify_contact(source, data)
    order_data = _shopify_order(data)
    order, created, applied = order_upsert(source=source, contact=contact, data=order_data)
    if contact is not None:
        _seen(contact, order_data.placed_at)
        if data.get("customer"):
            _shopify_consent(contact, source, data["customer"], order_data.updated_at)
        contact_save_changes(contact)
        if created:
            props = _order_event_properties(order_data)
            _record_event(
                contact,
                source,
                "Order Completed",
                props,
                order_data.placed_at,
                f"order:{order.shop_order_id}",
            )
    return applied


@handles(SHOPIFY, "refunds/create")
def shopify_refund(delivery: InboundDelivery) -> bool:
    data, source = _body(delivery), delivery.source
    order = (
        Order.objects.select_for_update()
        .filter(source=source, shop_order_id=str(data.get("order_id")))
        .first()
    )
    if order is None:
        raise ValueError(
            f"refund for unknown order {data.get('order_id')}: retry after the order arrives"
        )
    amount = sum(
        (
            _money(t.get("amount"))
            for t in data.get("transactions") or []
            if t.get("kind") == "refund"
        ),
        Decimal("0"),
    )
    at = _time(data.get("created_at"), default=timezone.now())
    _, created = refund_record(
        order=order, data=RefundData(str(data["id"]), amount, str(data.get("note") or "")[:300], at)
    )
    if created and order.contact is not None:
        _record_event(
            order.contact,
            source,
            "Order Refunded",
            {"order_id": order.shop_order_id, "total": str(amount)},
            at,
            f"refund:{data['id']}",
        )
    return created


@handles(SHOPIFY, "checkouts/create", "checkouts/update")
def shopify_checkout(delivery: InboundDelivery) -> bool:
    data, source = _body(delivery), delivery.source
    contact = _shopify_contact(source, data)
    if contact is None:
        return False  # an anonymous checkout tells us nothing about a person yet
    at = _time(data.get("created_at"), default=timezone.now())
    _seen(contact, _time(data.get("updated_at"), default=at))
    contact_save_changes(contact)
    properties = {
        "checkout_id": str(data.get("token") or data.get("id")),
        "total": str(_money(data.get("total_price"))),
        "currency": data.get("currency") or "",
        "url": data.get("abandoned_checkout_url") or "",
        "products": [
            {
                "product_id": str(li.get("product_id") or ""),
                "name": li.get("title"),
                "quantity": li.get("quantity"),
            }
            for li in data.get("line_items") or []
        ],
    }
    # One "Checkout Started" per checkout, however often Shopify updates it.
    _record_event(
        contact, source, "Checkout Started", properties, at, f"checkout:{properties['checkout_id']}"
    )
    return True


@handles(SHOPIFY, "carts/create", "carts/update")
def shopify_cart(delivery: InboundDelivery) -> bool:
    data, source = _body(delivery), delivery.source
    contact = _shopify_contact(source, data)
    if contact is None:
        return False  # carts carry no customer; the storefront snippet tracks them instead
    at = _time(data.get("updated_at") or data.get("created_at"), default=timezone.now())
    _record_event(
        contact,
        source,
        "Product Added",
        {"cart_id": str(data.get("token") or data.get("id"))},
        at,
        f"cart:{data.get('token') or data.get('id')}:{at.isoformat()}",
    )
    return True


@handles(SHOPIFY, "customers/create", "customers/update")
def shopify_customer(delivery: InboundDelivery) -> bool:
    data, source = _body(delivery), delivery.source
    contact = _shopify_contact(source, data)
    if contact is None:
        return False
    at = _time(data.get("updated_at"), default=timezone.now())
    _shopify_consent(contact, source, data, at)
    if data.get("tags"):
        contact.properties = {**contact.properties, "shopify_tags": data["tags"]}
    contact_save_changes(contact)
    return True


def _shop_customer_contact(source: Source, customer: dict[str, Any]) -> Contact | None:
    identity = (
        Identity.objects.select_related("contact")
        .filter(kind=Identity.Kind.SHOP_CUSTOMER, value=f"{source.slug}:{customer.get('id')}")
        .first()
    )
    if identity is None and customer.get("email"):
        identity = (
            Identity.objects.select_related("contact")
            .filter(kind=Identity.Kind.EMAIL, value=str(customer["email"]).lower())
            .first()
        )
    return identity.contact if identity else None


def _customer_privacy(delivery: InboundDelivery, action: Any) -> bool:
    """customers/redact and customers/data_request: erase or export the customer named."""
    data, source = _body(delivery), delivery.source
    contact = _shop_customer_contact(source, data.get("customer") or {})
    if contact is None:
        return False
    action(contact=contact, origin=f"shopify:{source.slug}:{delivery.topic}")
    return True


@handles(SHOPIFY, "customers/redact")
def shopify_customer_redact(delivery: InboundDelivery) -> bool:
    return _customer_privacy(delivery, contact_erase)


@handles(SHOPIFY, "customers/data_request")
def shopify_data_request(delivery: InboundDelivery) -> bool:
    return _customer_privacy(delivery, contact_export)


@handles(SHOPIFY, "shop/redact")
def shopify_shop_redact(delivery: InboundDelivery) -> bool:
    """The shop uninstalled Growth 48 hours ago: erase the customers only it told us about."""
    source = delivery.source
    ids = Identity.objects.filter(
        kind=Identity.Kind.SHOP_CUSTOMER, value__startswith=f"{source.slug}:"
    ).values("contact_id")
    for contact in Contact.objects.filter(pk__in=ids, erased_at__isnull=True):
        contact_erase(contact=contact, origin=f"shopify:{source.slug}:shop/redact")
    source.is_active = False
    source.save(update_fields=["is_active"])
    return True


# --- WooCommerce -----------------------------------------------------------------------

WOO_STATUS = {
    "pending": "pending",
    "on-hold": "pending",
    "processing": "paid",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "failed": "cancelled",
    "refunded": "refunded",
    "trash": "cancelled",
}


def _woo_time(data: dict[str, Any], key: str, default: datetime | None = None) -> datetime:
    # WooCommerce sends *_gmt without an offset; the plain field is the shop's local time.
    return _time(data.get(f"{key}_gmt") or data.get(key), default=default)


def _woo_contact(source: Source, data: dict[str, Any], *, customer_id: Any) -> Contact | None:
    billing = data.get("billing") or {}
    keys = [
        (Identity.Kind.SHOP_CUSTOMER, f"{source.slug}:{customer_id}" if customer_id else None),
        (Identity.Kind.EMAIL, data.get("email") or billing.get("email")),
        (Identity.Kind.PHONE, billing.get("phone")),
    ]
    if not any(value for _, value in keys):
        return None
    contact = contact_resolve(keys=keys, source=source)
    _fill(
        contact,
        first_name=data.get("first_name") or billing.get("first_name"),
        last_name=data.get("last_name") or billing.get("last_name"),
        company=billing.get("company"),
        country=billing.get("country"),
    )
    return contact


@handles(WOO, "order.created", "order.updated", "order.restored", "order.deleted")
def woo_order(delivery: InboundDelivery) -> bool:
    data, source = _body(delivery), delivery.source
    if "id" not in data:
        raise ValueError("order without id")
    customer_id = data.get("customer_id") or None
    contact = _woo_contact(source, data, customer_id=customer_id)
    placed = _woo_time(data, "date_created")
    status = (
        "cancelled"
        if delivery.topic == "order.deleted"
        else WOO_STATUS.get(data.get("status") or "", "pending")
    )
    order_data = OrderData(
        shop_order_id=str(data["id"]),
        order_number=str(data.get("number") or ""),
        status=status,
        currency=str(data.get("currency") or "USD")[:3],
        subtotal=sum(
            (_money(li.get("subtotal")) for li in data.get("line_items") or []), Decimal("0")
        ),
        discount_total=_money(data.get("discount_total")),
        shipping_total=_money(data.get("shipping_total")),
        tax_total=_money(data.get("total_tax")),
        total=_money(data.get("total")),
        coupon_codes=[str(c.get("code")) for c in data.get("coupon_lines") or [] if c.get("code")],
        placed_at=placed,
        updated_at=_woo_time(data, "date_modified", default=placed),
        lines=[
            LineData(
                external_id=str(li.get("id") or ""),
                product_id=str(li.get("product_id") or ""),
                sku=str(li.get("sku") or ""),
                name=str(li.get("name") or "")[:300],
                quantity=int(li.get("quantity") or 1),
                unit_price=_money(li.get("price")),
                total=_money(li.get("total")),
            )
            for li in data.get("line_items") or []
        ],
        refunds=[
            RefundData(
                str(r.get("id")),
                _money(r.get("total")),
                str(r.get("reason") or "")[:300],
                _woo_time(data, "date_modified", default=placed),
            )
            for r in data.get("refunds") or []
        ],
    )
    order, created, applied = order_upsert(source=source, contact=contact, data=order_data)
    if contact is not None:
        _seen(contact, placed)
        contact_save_changes(contact)
        if created and status != "cancelled":
            _record_event(
                contact,
                source,
                "Order Completed",
                _order_event_properties(order_data),
                placed,
                f"order:{order.shop_order_id}",
            )
    return applied


@handles(WOO, "customer.created", "customer.updated")
def woo_customer(delivery: InboundDelivery) -> bool:
    data, source = _body(delivery), delivery.source
    contact = _woo_contact(source, data, customer_id=data.get("id"))
    if contact is None:
        return False
    contact_save_changes(contact)
    return True
