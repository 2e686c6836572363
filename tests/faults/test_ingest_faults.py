"""Bad input and faults at the front door: clear 4xx, nothing stored, nothing doubled."""

import json
import threading

import pytest
import requests
from django.db import connection

from leads.models import InboundDelivery, Order
from leads.services.sources import source_rotate
from tests.leads.helpers import basic, post_segment, post_shopify, process_all
from tests.leads.payloads import shopify_order

pytestmark = pytest.mark.django_db


def test_missing_or_wrong_write_key_is_401_and_stores_nothing(client, tracking_source):
    message = json.dumps({"type": "track", "event": "E", "userId": "u"})
    assert (
        client.post("/ingest/v1/track", data=message, content_type="application/json").status_code
        == 401
    )
    wrong = client.post(
        "/ingest/v1/track",
        data=message,
        content_type="application/json",
        HTTP_AUTHORIZATION=basic("nope"),
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "unknown or inactive write key"
    assert InboundDelivery.objects.count() == 0


def test_rotated_key_stops_working(client, tracking_source):
    source, old = tracking_source
    new = source_rotate(source=source)
    message = {"type": "track", "event": "E", "userId": "u"}
    assert post_segment(client, old, "track", message).status_code == 401
    assert post_segment(client, new, "track", message).status_code == 200


def test_malformed_json_is_400_saying_so(client, tracking_source):
    _, key = tracking_source
    response = client.post(
        "/ingest/v1/batch",
        data=b"{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(key),
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("body is not valid JSON")


def test_oversized_message_and_batch_are_413(client, tracking_source):
    _, key = tracking_source
    big = {"type": "track", "event": "E", "userId": "u", "properties": {"x": "a" * 33_000}}
    assert post_segment(client, key, "track", big).status_code == 413
    batch = {
        "batch": [{"type": "track", "event": "E", "userId": "u", "properties": {"x": "a" * 30_000}}]
        * 18
    }
    response = post_segment(client, key, "batch", batch)
    assert response.status_code == 413 and "500 KB" in response.json()["error"]
    assert InboundDelivery.objects.count() == 0


def test_one_oversized_message_rejects_its_batch(client, tracking_source):
    _, key = tracking_source
    small = {"type": "track", "event": "E", "userId": "u"}
    big = {**small, "properties": {"x": "a" * 33_000}}
    response = post_segment(client, key, "batch", {"batch": [small, big]})
    assert response.status_code == 413
    assert response.json()["error"] == "batch[1]: message is over the 32 KB limit"
    assert InboundDelivery.objects.count() == 0


def test_bad_shopify_signature_is_401_and_stores_nothing(client, shopify_source):
    response = post_shopify(
        client,
        shopify_source,
        "orders/create",
        shopify_order(),
        webhook_id="w",
        secret="not-the-secret",
    )
    assert response.status_code == 401
    body = json.dumps(shopify_order()).encode()
    unsigned = client.post(
        f"/webhooks/shopify/{shopify_source.slug}/",
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_TOPIC="orders/create",
        HTTP_X_SHOPIFY_WEBHOOK_ID="w",
    )
    assert unsigned.status_code == 401
    assert InboundDelivery.objects.count() == 0


def test_shopify_missing_headers_are_named(client, shopify_source):
    from leads.ingest.http import hmac_base64

    body = b"{}"
    response = client.post(
        f"/webhooks/shopify/{shopify_source.slug}/",
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=hmac_base64(shopify_source.secret, body),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "missing header X-Shopify-Topic, X-Shopify-Webhook-Id"


def test_processing_error_fails_one_delivery_and_the_batch_goes_on(client, shopify_source):
    post_shopify(
        client,
        shopify_source,
        "orders/create",
        {"id": 5, "created_at": "not a date"},
        webhook_id="bad",
    )
    post_shopify(client, shopify_source, "orders/create", shopify_order(), webhook_id="good")
    process_all()
    bad, good = (
        InboundDelivery.objects.get(delivery_id="bad"),
        InboundDelivery.objects.get(delivery_id="good"),
    )
    assert bad.status == "failed" and "not a date-time" in bad.error
    assert good.status == "processed"
    assert Order.objects.count() == 1


def test_database_down_answers_503(client, shopify_source, tracking_source):
    _, key = tracking_source
    body = json.dumps({"type": "track", "event": "E", "userId": "u"})
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there: the server is "down"
    try:
        response = client.post(
            "/ingest/v1/track",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=basic(key),
        )
        shop = post_shopify(
            client, shopify_source, "orders/create", shopify_order(), webhook_id="w"
        )
    finally:
        connection.settings_dict["PORT"] = real_port
        connection.close()
    assert response.status_code == 503 and response.json()["error"] == "storage unavailable, retry"
    assert shop.status_code == 503


@pytest.mark.django_db(transaction=True)
def test_same_delivery_sent_concurrently_has_one_effect(live_server, shopify_source):
    from leads.ingest.http import hmac_base64

    body = json.dumps(shopify_order()).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": hmac_base64(shopify_source.secret, body),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": "racing",
    }
    url = f"{live_server.url}/webhooks/shopify/{shopify_source.slug}/"
    barrier, statuses = threading.Barrier(8), []

    def send() -> None:
        with requests.Session() as session:
            barrier.wait()
            statuses.append(session.post(url, data=body, headers=headers, timeout=10).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 8
    assert InboundDelivery.objects.count() == 1
    process_all()
    assert Order.objects.count() == 1


def test_redis_down_still_accepts_and_stores(
    client, tracking_source, django_capture_on_commit_callbacks, caplog
):
    """Nothing accepted is lost: with the broker gone the request still stores and answers
    200; the beat sweep processes it once Redis is back."""
    from growth.celery import app

    _, key = tracking_source

    def fresh_pools() -> None:
        # The next publish looks its pool up again for conf.broker_url. Not closed: kombu keeps
        # one pool per broker URL for the whole process, so a closed one would come back to
        # every later test that publishes ("Acquire on closed pool").
        app._pool, app.amqp._producer_pool = None, None

    real_url = app.conf.broker_url
    fresh_pools()
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_segment(
                client, key, "track", {"type": "track", "event": "E", "userId": "u"}
            )
    finally:
        fresh_pools()
        app.conf.broker_url = real_url
    assert response.status_code == 200
    assert "could not enqueue inbound processing" in caplog.text
    assert InboundDelivery.objects.get().status == "pending"
    assert process_all() == 1


def test_deliveries_of_a_worker_that_died_go_back_to_the_queue(shopify_source):
    from datetime import timedelta

    from django.utils import timezone

    from leads.services.inbound import CLAIM_TIMEOUT, inbound_reclaim_stale

    body = json.dumps(shopify_order()).encode()
    stale = InboundDelivery.objects.create(
        source=shopify_source,
        topic="orders/create",
        delivery_id="stale",
        body=body,
        status="processing",
        processed_at=timezone.now() - CLAIM_TIMEOUT - timedelta(seconds=1),
    )
    busy = InboundDelivery.objects.create(
        source=shopify_source,
        topic="orders/create",
        delivery_id="busy",
        body=body,
        status="processing",
        processed_at=timezone.now(),
    )
    assert inbound_reclaim_stale() == 1
    stale.refresh_from_db()
    busy.refresh_from_db()
    assert (stale.status, busy.status) == ("pending", "processing")
    process_all()
    assert Order.objects.count() == 1
