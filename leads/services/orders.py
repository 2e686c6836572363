"""Orders from any shop, upserted so that the newest state always wins."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction

from growth.currency import rate_to_base
from leads import signals
from leads.models import Contact, Order, OrderLine, Product, Refund, Source
from leads.services.events import touched_add


@dataclass
class LineData:
    external_id: str
    product_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    total: Decimal


@dataclass
class RefundData:
    shop_refund_id: str
    amount: Decimal
    reason: str
    refunded_at: datetime


@dataclass
class OrderData:
    shop_order_id: str
    order_number: str
    status: str
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal
    coupon_codes: list[str]
    placed_at: datetime
    updated_at: datetime
    lines: list[LineData] = field(default_factory=list)
    refunds: list[RefundData] = field(default_factory=list)


def _products(source: Source, lines: list[LineData], currency: str) -> dict[str, Product]:
    wanted = {line.product_id: line for line in lines if line.product_id}
    if not wanted:
        return {}
    Product.objects.bulk_create(
        [
            Product(
                source=source,
                external_id=pid,
                sku=line.sku,
                name=line.name,
                price=line.unit_price,
                currency=currency,
            )
            for pid, line in wanted.items()
        ],
        ignore_conflicts=True,
    )
    return {p.external_id: p for p in Product.objects.filter(source=source, external_id__in=wanted)}


def order_upsert(
    *, source: Source, contact: Contact | None, data: OrderData
) -> tuple[Order, bool, bool]:
    """(order, created, applied). An update older than what we hold is not applied.

    Must run inside a transaction: the row lock orders concurrent updates of one order.
    """
    fields = {
        "order_number": data.order_number,
        "status": data.status,
        "currency": data.currency,
        "rate_to_base": rate_to_base(data.currency),
        "subtotal": data.subtotal,
        "discount_total": data.discount_total,
        "shipping_total": data.shipping_total,
        "tax_total": data.tax_total,
        "total": data.total,
        "coupon_codes": data.coupon_codes,
        "placed_at": data.placed_at,
        "shop_updated_at": data.updated_at,
    }
    order, created = Order.objects.select_for_update().get_or_create(
        source=source, shop_order_id=data.shop_order_id, defaults={**fields, "contact": contact}
    )
    if not created:
        if data.updated_at <= order.shop_updated_at:
            return order, False, False  # out of order or a repeat: the newer state stays
        for name, value in fields.items():
            setattr(order, name, value)
        if contact is not None:
            order.contact = contact
        order.save()
        order.lines.all().delete()
    products = _products(source, data.lines, data.currency)
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=products.get(line.product_id),
            external_id=line.external_id,
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total=line.total,
        )
        for line in data.lines
    )
    for refund in data.refunds:
        refund_record(order=order, data=refund)
    if order.contact_id:
        touched_add(contact_ids=[order.contact_id])
    if created:
        _announce_created(order.pk)
    return order, created, True


class _OrdersCreated:
    """The on-commit callback that sends `orders_created` once for every order the
    transaction created: a batch of a thousand orders is one signal, not a thousand."""

    def __init__(self) -> None:
        self.order_ids: list[int] = []
        self.sent = False

    def __call__(self) -> None:
        self.sent = True
        signals.orders_created.send(sender=Order, order_ids=list(self.order_ids))


def _announce_created(order_id: int) -> None:
    # Join the callback this transaction already has; a rolled-back transaction (or
    # savepoint) drops its callback with it, so the next order registers a new one. An id
    # added to a callback registered outside a savepoint that then rolls back names an
    # order that does not exist: receivers read orders by id and find nothing.
    for entry in connection.run_on_commit:  # (savepoint ids, callback, robust)
        callback = entry[1]
        # (A sent one is still listed only inside a test's never-committed transaction.)
        if isinstance(callback, _OrdersCreated) and not callback.sent:
            callback.order_ids.append(order_id)
            return
    pending = _OrdersCreated()
    pending.order_ids.append(order_id)
    transaction.on_commit(pending)


def refund_record(*, order: Order, data: RefundData) -> tuple[Refund, bool]:
    refund, created = Refund.objects.get_or_create(
        order=order,
        shop_refund_id=data.shop_refund_id,
        defaults={"amount": data.amount, "reason": data.reason, "refunded_at": data.refunded_at},
    )
    if created:
        refunded = sum((r.amount for r in order.refunds.all()), Decimal("0"))
        order.refunded_total = refunded
        if order.status != Order.Status.CANCELLED:
            order.status = (
                Order.Status.REFUNDED
                if refunded >= order.total
                else Order.Status.PARTIALLY_REFUNDED
            )
        order.save(update_fields=["refunded_total", "status"])
        if order.contact_id:
            touched_add(contact_ids=[order.contact_id])
    return refund, created
