"""The whole path with a real Celery worker: webhook → stored → enqueued on commit →
processed by the worker → contact and order."""

import pytest

from leads.models import Contact, InboundDelivery, Order
from leads.tasks import inbound_sweep
from tests.leads.helpers import post_segment, post_shopify
from tests.leads.payloads import shopify_order
from tests.polling import poll


@pytest.mark.django_db(transaction=True)
def test_webhook_is_processed_by_the_worker(client, shopify_source, tracking_source, celery_worker):
    assert (
        post_shopify(
            client, shopify_source, "orders/create", shopify_order(), webhook_id="live"
        ).status_code
        == 200
    )
    _, key = tracking_source
    post_segment(
        client, key, "track", {"type": "track", "event": "Product Viewed", "userId": "u-1"}
    )
    assert poll(lambda: not InboundDelivery.objects.exclude(status="processed").exists())
    assert Order.objects.get().contact.email == "bob.norman@example.com"
    assert Contact.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_sweep_picks_up_what_was_never_enqueued(shopify_source, celery_worker):
    import json

    # As if Redis had been down when it arrived: stored, nothing enqueued.
    InboundDelivery.objects.create(
        source=shopify_source,
        topic="orders/create",
        delivery_id="orphan",
        body=json.dumps(shopify_order()).encode(),
    )
    inbound_sweep.delay()
    assert poll(lambda: InboundDelivery.objects.get().status == "processed")
    assert Order.objects.count() == 1
