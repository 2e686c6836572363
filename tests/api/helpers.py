"""Data for the API tests, made through the apps' own services and factories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from automations.journeys.engine import journey_enroll, journey_publish, triggers_forget
from automations.models import Delivery, Journey
from cadences.models import Rep
from cadences.services.enrollment import enrollment_start
from leads.models import OrderLine, Refund, Segment, SegmentMembership
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
    # Each side's cadence, and its contact's enrollment on it (assigned to that side's rep).
    own_cadence: Any = None
    foreign_cadence: Any = None
    own_enrollment: Any = None
    foreign_enrollment: Any = None
    free: Any = None  # a contact on no cadence, in nobody's queue
    # Filled by with_automation(): a segment, a delivery and a journey run per contact.
    own_segment: Any = None
    foreign_segment: Any = None
    own_delivery: Any = None
    foreign_delivery: Any = None
    own_journey: Any = None
    foreign_journey: Any = None


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
    """`rep_user`'s queue holds `own` (on the cadence "Fast"); `other_user`'s holds `foreign`
    (on "Slow")."""
    own, foreign = mql(1), mql(2)
    enrollments = []
    for contact, user, name in ((own, rep_user, "Fast"), (foreign, other_user, "Slow")):
        rep, _created = Rep.objects.get_or_create(user=user)
        enrollments.append(
            enrollment_start(
                contact=contact, key=f"k{contact.pk}", cadence=published(name), rep=rep
            )
        )
    own_enrollment, foreign_enrollment = enrollments
    assert own_enrollment is not None and foreign_enrollment is not None
    return Queue(
        own=own,
        foreign=foreign,
        own_event=EventFactory(contact=own),
        foreign_event=EventFactory(contact=foreign),
        own_order=order_for(own),
        foreign_order=order_for(foreign),
        own_cadence=own_enrollment.cadence,
        foreign_cadence=foreign_enrollment.cadence,
        own_enrollment=own_enrollment,
        foreign_enrollment=foreign_enrollment,
        free=mql(3),
    )


def manual_journey(name: str) -> Journey:
    """An active journey entered by hand or through the API: trigger, then one step."""
    graph = {
        "nodes": [
            {"id": "t", "type": "trigger", "config": {"kind": "manual"}},
            {"id": "p", "type": "update_property", "config": {"property": "x", "value": "y"}},
        ],
        "edges": [{"from": "t", "to": "p", "branch": "next"}],
    }
    journey = Journey.objects.create(name=name, draft=graph)
    journey_publish(journey=journey, version=journey.version, actor=None)
    journey.refresh_from_db()
    triggers_forget()
    return journey


def delivery_for(contact: Any, journey: Any = None, **fields: Any) -> Delivery:
    now = datetime.now(UTC)
    values = {
        "key": f"api-test-{Delivery.objects.count()}-{contact.pk}",
        "contact": contact,
        "journey": journey,
        "channel": "email",
        "purpose": "marketing",
        "origin": "journey",
        "scheduled_for": now,
        "due_at": now,
        "to_address": contact.email,
        "subject": "Your code",
        "body_text": "secret-token-in-a-link",
        **fields,
    }
    return Delivery.objects.create(**values)


def with_automation(queue: Queue) -> Queue:
    """Give each side a static segment it is in, a journey it runs through and a message."""
    for side in ("own", "foreign"):
        contact = getattr(queue, side)
        segment = Segment.objects.create(name=f"List {side}", kind=Segment.Kind.STATIC)
        SegmentMembership.objects.create(
            segment=segment, contact=contact, entered_at=datetime.now(UTC), via="hand"
        )
        journey = manual_journey(f"Journey {side}")
        journey_enroll(journey=journey, contact_ids=[contact.pk])
        setattr(queue, f"{side}_segment", segment)
        setattr(queue, f"{side}_journey", journey)
        setattr(queue, f"{side}_delivery", delivery_for(contact, journey))
    return queue
