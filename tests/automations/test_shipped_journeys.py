"""The shipped journeys install as valid drafts with valid templates, publish, and the
abandoned-cart journey runs end to end with time travel through the real Twilio client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from automations.journeys.engine import (
    journey_publish,
    journeys_on_events,
    runs_dispatch,
    triggers_forget,
)
from automations.journeys.shipped import SHIPPED, shipped_install
from automations.models import Journey, JourneyRun, MessageTemplate
from automations.services.deliveries import deliveries_dispatch
from automations.services.sending import delivery_send
from automations.services.templates import content_clean
from leads.models import Consent
from tests.leads.factories import ConsentFactory, ContactFactory, EventFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 6, 10, 10, tzinfo=UTC)


@pytest.mark.parametrize("key", [s.key for s in SHIPPED])
def test_each_shipped_journey_installs_once_and_publishes(key):
    journey = shipped_install(key=key)
    assert shipped_install(key=key).pk == journey.pk
    journey_publish(journey=journey, version=journey.version, actor=None)
    journey.refresh_from_db()
    assert journey.status == Journey.Status.ACTIVE and journey.live is not None
    for template in MessageTemplate.objects.all():
        content = template.contents.get()
        parts = {p: getattr(content, p) for p in ("subject", "preheader", "html", "text")}
        content_clean(template.channel, parts, template.purpose)  # raises when invalid


def advance(now: datetime) -> None:
    runs_dispatch(now=now)
    for delivery_id in deliveries_dispatch(now=now):
        delivery_send(delivery_id=delivery_id, now=now)


def test_the_abandoned_cart_journey_texts_after_an_hour_unless_they_buy(standin_settings):
    journey = shipped_install(key="abandoned_cart")
    journey_publish(journey=journey, version=journey.version, actor=None)
    triggers_forget()
    anna = ContactFactory(first_name="Anna", phone="+4915112345678", time_zone="Europe/Berlin")
    ConsentFactory(contact=anna, channel="sms", status=Consent.Status.GRANTED)
    ben = ContactFactory(first_name="Ben", phone="+4915187654321", time_zone="Europe/Berlin")
    ConsentFactory(contact=ben, channel="sms", status=Consent.Status.GRANTED)
    started = [
        EventFactory(contact=c, name="Checkout Started", occurred_at=T0).pk for c in (anna, ben)
    ]
    journeys_on_events(event_ids=started, now=T0)
    advance(T0)
    bought = EventFactory(contact=ben, name="Order Completed", occurred_at=T0).pk
    journeys_on_events(event_ids=[bought], now=T0 + timedelta(minutes=20))

    advance(T0 + timedelta(minutes=59))
    assert standin_settings.sms == []
    advance(T0 + timedelta(hours=1))
    [sms] = standin_settings.sms
    assert sms.to == "+4915112345678" and sms.body.startswith(
        "Demo Shop: your cart is waiting, Anna"
    )
    runs = dict(JourneyRun.objects.values_list("contact_id", "status"))
    assert runs == {anna.pk: "done", ben.pk: "converted"}


def test_the_demo_publishes_every_shipped_journey_once():
    from automations.demo import demo_journeys_load

    assert demo_journeys_load() == len(SHIPPED)
    assert demo_journeys_load() == 0
    assert Journey.objects.filter(status="active").count() == len(SHIPPED)
