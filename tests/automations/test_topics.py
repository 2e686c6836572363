"""Topics: a contact keeps some kinds of marketing e-mail and stops others from the
preferences page; the limiter obeys at send time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from automations.consent_links import contact_token
from automations.models import Delivery, Topic, TopicOptOut
from automations.services.deliveries import deliveries_dispatch, delivery_schedule
from automations.services.sending import delivery_send
from automations.services.templates import template_create, topic_save
from growth.roles import Role
from leads.models import Consent
from tests.leads.factories import ConsentFactory, ContactFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2025, 6, 10, 10, tzinfo=UTC)
PARTS = {"subject": "Hi", "html": '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'}


def test_a_topic_opted_out_of_on_the_preferences_page_stops_only_that_topic(client):
    offers, news = topic_save(name="Offers"), topic_save(name="Newsletter")
    anna = ContactFactory(email="anna@example.com", time_zone="Europe/Berlin")
    ConsentFactory(contact=anna, channel="email", status=Consent.Status.GRANTED)
    page = client.get(f"/u/{contact_token(anna.pk)}/")
    assert b'data-testid="topics"' in page.content
    client.post(f"/u/{contact_token(anna.pk)}/", {"email": "granted", "topic": [str(news.pk)]})
    assert list(TopicOptOut.objects.values_list("topic__name", flat=True)) == ["Offers"]

    for topic in (offers, news):
        template = template_create(
            actor=None,
            name=topic.name,
            channel="email",
            purpose="marketing",
            default_locale="en",
            topic=topic,
            parts=PARTS,
        )
        delivery_schedule(
            key=topic.name,
            contact=anna,
            channel="email",
            purpose="marketing",
            due_at=NOON,
            subject="Hi",
            template=template,
        )
    for delivery_id in deliveries_dispatch(now=NOON):
        delivery_send(delivery_id=delivery_id, now=NOON)
    offer = Delivery.objects.get(key="Offers")
    assert offer.status == Delivery.Status.SUPPRESSED and "Offers" in offer.reason
    assert Delivery.objects.get(key="Newsletter").status != Delivery.Status.SUPPRESSED

    # Ticking it again brings the topic back.
    client.post(
        f"/u/{contact_token(anna.pk)}/",
        {"email": "granted", "topic": [str(news.pk), str(offers.pk)]},
    )
    assert not TopicOptOut.objects.exists()


def test_the_topics_page(client_as):
    client = client_as(Role.MARKETER)
    assert b'data-testid="empty"' in client.get("/message-templates/topics/").content
    client.post("/message-templates/topics/", {"name": "Offers"})
    again = client.post("/message-templates/topics/", {"name": "offers"})
    assert again.status_code == 400 and "already" in again.content.decode()
    topic = Topic.objects.get()
    client.post("/message-templates/topics/", {"toggle": topic.pk})
    topic.refresh_from_db()
    assert not topic.active
    assert client_as(Role.REP).get("/message-templates/topics/").status_code == 403
