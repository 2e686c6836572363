"""Data for the API tests, made through the apps' own services and factories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cadences.models import Rep
from cadences.services.enrollment import enrollment_start
from leads.models import OrderLine, Refund
from tests.cadences.helpers import mql, published
from tests.leads.factories import EventFactory, OrderFactory


@dataclass
class Queue:
    """A rep's own contact and another rep's contact, each with an event and an order."""

    own: Any
    foreign: Any
    own_event: Any
    foreign_event: Any
    own_order: Any
    foreign_order: Any


def order_for(contact: Any) -> Any:
    order = OrderFactory(contact=contact, status="paid")
    OrderLine.objects.create(
        order=order,
        sku="SKU-1",
        name="Mug",
        quantity=2,
        unit_price=Decimal("10"),
        total=Decimal("20"),
    )
    Refund.objects.create(
        order=order, shop_refund_id="r1", amount=Decimal("5"), refunded_at=datetime.now(UTC)
    )
    return order


def queue_for(rep_user: Any, other_user: Any) -> Queue:
    """`rep_user`'s queue holds `own`; `other_user`'s holds `foreign`."""
    cadence = published()
    own, foreign = mql(1), mql(2)
    for contact, user in ((own, rep_user), (foreign, other_user)):
        rep, _created = Rep.objects.get_or_create(user=user)
        enrollment_start(contact=contact, key=f"k{contact.pk}", cadence=cadence, rep=rep)
    return Queue(
        own=own,
        foreign=foreign,
        own_event=EventFactory(contact=own),
        foreign_event=EventFactory(contact=foreign),
        own_order=order_for(own),
        foreign_order=order_for(foreign),
    )
