"""The Segment-compatible tracking API, from the official client to the contact record."""

import json

import pytest
from segment.analytics import Client

from leads.models import Consent, Contact, Event, Identity, InboundDelivery, Order, Session
from tests.leads.helpers import basic, post_segment, process_all

pytestmark = pytest.mark.django_db


def test_official_segment_client_works_unchanged(live_server, tracking_source):
    source, key = tracking_source
    errors = []
    client = Client(
        key,
        host=f"{live_server.url}/ingest",
        sync_mode=True,
        on_error=lambda e, b: errors.append(e),
    )
    client.page(
        anonymous_id="anon-1",
        name="Home",
        properties={
            "url": "https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=winter",
            "referrer": "https://www.google.com/",
        },
    )
    client.track(
        anonymous_id="anon-1",
        event="Product Viewed",
        properties={"product_id": "sku-1", "price": 19.9},
    )
    client.identify(
        user_id="u-42",
        anonymous_id="anon-1",
        traits={
            "email": "Ana@Example.com",
            "firstName": "Ana",
            "lastName": "Lima",
            "address": {"country": "br"},
        },
    )
    client.track(
        user_id="u-42",
        event="Order Completed",
        properties={
            "order_id": "o-1",
            "total": 39.8,
            "currency": "BRL",
            "products": [{"product_id": "sku-1"}],
        },
    )
    client.flush()
    assert errors == []
    assert InboundDelivery.objects.filter(source=source).count() == 4

    assert process_all() == 4
    assert set(InboundDelivery.objects.values_list("status", flat=True)) == {"processed"}
    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name, contact.email, contact.country) == (
        "Ana",
        "Lima",
        "ana@example.com",
        "BR",
    )
    kinds = set(contact.identities.values_list("kind", "value"))
    assert kinds == {("anonymous_id", "anon-1"), ("user_id", "u-42"), ("email", "ana@example.com")}
    assert list(contact.events.order_by("occurred_at").values_list("name", flat=True)) == [
        "Page Viewed",
        "Product Viewed",
        "Identified",
        "Order Completed",
    ]
    assert contact.source_channel == "google / cpc"
    assert contact.first_touch["utm_campaign"] == "winter"
    session = Session.objects.get()
    assert (session.utm_source, session.channel, session.page_views) == (
        "google",
        "google / cpc",
        1,
    )
    order = Order.objects.get()
    assert (order.shop_order_id, str(order.total), order.currency, order.contact_id) == (
        "o-1",
        "39.80",
        "BRL",
        contact.pk,
    )


def test_message_id_dedupes(client, tracking_source):
    _, key = tracking_source
    message = {"type": "track", "event": "Product Viewed", "anonymousId": "a1", "messageId": "m-1"}
    for _ in range(3):
        assert post_segment(client, key, "track", message).json() == {"success": True}
    assert post_segment(client, key, "batch", {"batch": [message, message]}).status_code == 200
    assert InboundDelivery.objects.count() == 1
    process_all()
    assert Event.objects.count() == 1


def test_write_key_in_body_is_accepted(client, tracking_source):
    _, key = tracking_source
    response = client.post(
        "/ingest/v1/track",
        data=json.dumps({"writeKey": key, "event": "Signed Up", "userId": "u1"}),
        content_type="text/plain",
    )
    assert response.status_code == 200
    assert InboundDelivery.objects.get().topic == "track"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"type": "track", "anonymousId": "a"}, "message: missing event"),
        ({"type": "track", "event": "X"}, "message: missing userId or anonymousId"),
        (
            {"type": "track", "event": "X", "userId": "u", "timestamp": "yesterday"},
            "timestamp must be an ISO 8601 date-time",
        ),
        (
            {"type": "track", "event": "X", "userId": "u", "properties": []},
            "properties must be an object",
        ),
    ],
)
def test_missing_or_wrong_fields_are_named(client, tracking_source, payload, message):
    _, key = tracking_source
    response = post_segment(client, key, "track", payload)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert InboundDelivery.objects.count() == 0


def test_a_bad_message_rejects_the_whole_batch(client, tracking_source):
    _, key = tracking_source
    good = {"type": "track", "event": "A", "userId": "u"}
    response = post_segment(
        client, key, "batch", {"batch": [good, {"type": "alias", "userId": "u"}]}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "batch[1]: missing previousId"
    assert InboundDelivery.objects.count() == 0


def test_cors_for_allowed_origins_only(client, tracking_source):
    _, key = tracking_source
    message = {"type": "page", "anonymousId": "a"}
    allowed = post_segment(client, key, "page", message, HTTP_ORIGIN="https://shop.example")
    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example"
    other = post_segment(client, key, "page", message, HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other
    preflight = client.options("/ingest/v1/batch", HTTP_ORIGIN="https://shop.example")
    assert (
        preflight.status_code == 204
        and preflight["Access-Control-Allow-Origin"] == "https://shop.example"
    )


def test_anonymous_browsing_joins_the_contact_on_sign_up(client, tracking_source):
    _, key = tracking_source
    post_segment(
        client,
        key,
        "page",
        {"anonymousId": "browser-9", "properties": {"url": "https://shop.example/p/1"}},
    )
    post_segment(client, key, "track", {"anonymousId": "browser-9", "event": "Product Viewed"})
    process_all()
    anonymous = Contact.objects.get()
    # Signing up elsewhere first made a known contact for the same person.
    post_segment(client, key, "identify", {"userId": "u-7", "traits": {"email": "kim@example.com"}})
    process_all()
    assert Contact.objects.filter(merged_into__isnull=True).count() == 2
    post_segment(client, key, "identify", {"anonymousId": "browser-9", "userId": "u-7"})
    process_all()
    live = Contact.objects.filter(merged_into__isnull=True)
    assert live.count() == 1
    survivor = live.get()
    assert survivor.email == "kim@example.com"
    assert survivor.events.filter(name="Product Viewed").exists()
    assert survivor.merges.get().merged_id == anonymous.pk
    assert Contact.objects.get(pk=anonymous.pk).merged_into_id == survivor.pk


def test_alias_links_previous_id(client, tracking_source):
    _, key = tracking_source
    post_segment(client, key, "track", {"anonymousId": "old-anon", "event": "Cart Viewed"})
    post_segment(client, key, "alias", {"previousId": "old-anon", "userId": "new-user"})
    process_all()
    contact = Contact.objects.get()
    assert set(contact.identities.values_list("value", flat=True)) == {"old-anon", "new-user"}


def test_newsletter_subscribed_grants_email_consent(client, tracking_source):
    _, key = tracking_source
    post_segment(
        client,
        key,
        "track",
        {
            "userId": "u",
            "event": "Newsletter Subscribed",
            "context": {"traits": {"email": "n@example.com"}},
        },
    )
    process_all()
    consent = Consent.objects.get()
    assert (consent.channel, consent.status) == ("email", "granted")


def test_clock_skew_is_corrected(client, tracking_source):
    _, key = tracking_source
    post_segment(
        client,
        key,
        "track",
        {
            "userId": "u",
            "event": "E",
            "originalTimestamp": "2026-01-01T00:00:00Z",
            "sentAt": "2026-01-01T00:00:10Z",
        },
    )
    process_all()
    event = Event.objects.get()
    delivery = InboundDelivery.objects.get()
    assert abs((delivery.received_at - event.occurred_at).total_seconds() - 10) < 1


def test_gzip_bodies_are_read(client, tracking_source):
    import gzip

    _, key = tracking_source
    body = gzip.compress(
        json.dumps({"batch": [{"type": "track", "event": "E", "userId": "u"}]}).encode()
    )
    response = client.post(
        "/ingest/v1/batch",
        data=body,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_AUTHORIZATION=basic(key),
    )
    assert response.status_code == 200
    assert InboundDelivery.objects.count() == 1


def test_identity_values_are_normalised(client, tracking_source):
    _, key = tracking_source
    post_segment(
        client,
        key,
        "identify",
        {"userId": "u1", "traits": {"email": " Mixed@Case.COM ", "phone": "+44 (20) 7946-0000"}},
    )
    process_all()
    assert set(Identity.objects.values_list("kind", "value")) == {
        ("user_id", "u1"),
        ("email", "mixed@case.com"),
        ("phone", "+442079460000"),
    }


def test_events_recorded_signal_names_new_events_only(
    client, tracking_source, django_capture_on_commit_callbacks
):
    from leads import signals

    _, key = tracking_source
    seen: list[tuple[list[int], list[int]]] = []

    def receiver(sender, contact_ids, event_ids, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((contact_ids, event_ids))

    signals.events_recorded.connect(receiver)
    try:
        post_segment(
            client, key, "track", {"event": "Product Viewed", "userId": "u", "messageId": "once"}
        )
        with django_capture_on_commit_callbacks(execute=True):
            process_all()
        event = Event.objects.get()
        assert seen == [([event.contact_id], [event.pk])]
        # The same message processed again (a retried delivery) records nothing new.
        InboundDelivery.objects.update(status="pending")
        with django_capture_on_commit_callbacks(execute=True):
            process_all()
        assert Event.objects.count() == 1 and len(seen) == 1
    finally:
        signals.events_recorded.disconnect(receiver)
