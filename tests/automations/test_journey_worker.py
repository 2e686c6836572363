"""The whole path with a real Celery worker and real Redis: the shop's tracking call is
stored raw, processed, starts a published journey, the run sends an e-mail through the real
SendGrid client to the stand-in provider, exactly once."""

from __future__ import annotations

import pytest
from django.test import Client

from automations.journeys.engine import journey_publish, triggers_forget
from automations.models import Delivery, Journey, JourneyRun
from automations.services.templates import template_create
from automations.tasks import deliveries_dispatch_task
from tests.leads.helpers import post_segment
from tests.polling import poll


@pytest.mark.django_db(transaction=True)
def test_a_tracked_event_reaches_the_provider_through_a_journey(
    standin_settings, celery_worker, tracking_source
):
    template = template_create(
        actor=None,
        name="Order thanks",
        channel="email",
        purpose="transactional",
        default_locale="en",
        parts={"subject": "Thanks, {{ contact.first_name }}", "html": "<p>Thank you!</p>"},
    )
    journey = Journey.objects.create(
        name="Thanks",
        reentry="always",
        draft={
            "nodes": [
                {
                    "id": "t",
                    "type": "trigger",
                    "config": {"kind": "event", "event": "Order Completed"},
                },
                {"id": "m", "type": "send_email", "config": {"template": template.pk}},
            ],
            "edges": [{"from": "t", "to": "m", "branch": "next"}],
        },
    )
    journey_publish(journey=journey, version=journey.version, actor=None)
    triggers_forget()

    _, key = tracking_source
    answer = post_segment(
        Client(),
        key,
        "track",
        {
            "type": "track",
            "event": "Order Completed",
            "userId": "anna-1",
            "messageId": "order-1",
            "context": {"traits": {"email": "anna@example.com", "firstName": "Anna"}},
        },
    )
    assert answer.status_code == 200
    # The inbound worker processes the call, the journey starts and its run schedules the
    # e-mail; beat is not running in tests, so the dispatch is asked for by hand.
    assert poll(lambda: Delivery.objects.filter(origin="journey").exists(), timeout=30)
    deliveries_dispatch_task.delay()
    assert poll(lambda: len(standin_settings.emails) == 1, timeout=30)
    [mail] = standin_settings.emails
    assert mail.to == ("anna@example.com",) or list(mail.to) == ["anna@example.com"]
    assert poll(lambda: JourneyRun.objects.filter(status="done").count() == 1, timeout=10)
    # A redelivered tracking call (same messageId) starts nothing more.
    post_segment(
        Client(),
        key,
        "track",
        {"type": "track", "event": "Order Completed", "userId": "anna-1", "messageId": "order-1"},
    )
    deliveries_dispatch_task.delay()
    assert not poll(lambda: len(standin_settings.emails) > 1, timeout=3)
    assert standin_settings.duplicates() == []
