"""Contacts, events and orders through the API: filters, create by identity, update, merge,
export and erase (audited), and list queries that do not grow with the page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from growth.models import AuditEvent
from leads.models import Contact, Identity, PrivacyRequest, Segment, SegmentMembership
from tests.api.conftest import bearer
from tests.api.helpers import order_for
from tests.leads.factories import ConsentFactory, ContactFactory, EventFactory, IdentityFactory

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts/"


def get(client, url, key, params=None):  # type: ignore[no-untyped-def]
    response = client.get(url, params or {}, headers=bearer(key))
    assert response.status_code == 200, response.content
    return response.json()


def send(client, method, url, body, key):  # type: ignore[no-untyped-def]
    return getattr(client, method)(
        url, json.dumps(body), content_type="application/json", headers=bearer(key)
    )


def ids(page):  # type: ignore[no-untyped-def]
    return [row["id"] for row in page["results"]]


# --- Contacts: reading -------------------------------------------------------------------------


def test_list_pages_by_cursor_without_repeats(client, key):
    contacts = [ContactFactory() for _ in range(7)]
    seen, url, params = [], CONTACTS, {"page_size": 3}
    while url:
        page = get(client, url, key, params)
        seen += ids(page)
        url, params = page["next"], None
    assert seen == [c.pk for c in reversed(contacts)]


def test_list_filters_as_the_contact_page_does(client, key):
    now = datetime.now(UTC)
    ada = ContactFactory(
        first_name="Ada",
        last_name="Lovelace",
        lifecycle_stage="mql",
        score=40,
        source_channel="google / cpc",
    )
    bob = ContactFactory(
        first_name="Bob", lifecycle_stage="customer", score=5, source_channel="direct"
    )
    merged = ContactFactory(first_name="Ada", merged_into=ada)
    erased = ContactFactory(first_name="Ada", erased_at=now)
    segment = Segment.objects.create(name="VIP", kind=Segment.Kind.STATIC)
    SegmentMembership.objects.create(segment=segment, contact=bob, entered_at=now)
    assert ids(get(client, CONTACTS, key, {"q": "ada love"})) == [ada.pk]
    assert ids(get(client, CONTACTS, key, {"stage": "customer"})) == [bob.pk]
    assert ids(get(client, CONTACTS, key, {"source": "google / cpc"})) == [ada.pk]
    assert ids(get(client, CONTACTS, key, {"score_min": 10, "score_max": 50})) == [ada.pk]
    assert ids(get(client, CONTACTS, key, {"segment": segment.pk})) == [bob.pk]
    Contact.objects.filter(pk=bob.pk).update(updated_at=now - timedelta(days=3))
    since = (now - timedelta(days=1)).isoformat()
    assert bob.pk not in ids(get(client, CONTACTS, key, {"updated_since": since}))
    everyone = ids(get(client, CONTACTS, key))
    assert merged.pk not in everyone and erased.pk not in everyone


def test_get_has_identities_consents_and_personas(client, key):
    contact = ContactFactory(lifecycle_stage="sql", score=12)
    IdentityFactory(contact=contact)
    ConsentFactory(contact=contact, channel="email", status="granted")
    persona = Segment.objects.create(name="Bargain hunter", kind=Segment.Kind.PERSONA)
    SegmentMembership.objects.create(segment=persona, contact=contact, entered_at=datetime.now(UTC))
    body = get(client, f"{CONTACTS}{contact.pk}/", key)
    assert body["lifecycle_stage"] == "sql" and body["score"] == 12
    assert body["identities"] == [
        {
            "kind": "email",
            "value": contact.email.lower(),
            "created_at": body["identities"][0]["created_at"],
        }
    ]
    assert [(c["channel"], c["status"]) for c in body["consents"]] == [("email", "granted")]
    assert body["personas"] == [{"id": persona.pk, "name": "Bargain hunter"}]


def test_list_queries_do_not_grow_with_the_page(client, key, django_assert_max_num_queries):
    for _ in range(30):
        contact = ContactFactory()
        EventFactory(contact=contact)
        order_for(contact)
    get(client, CONTACTS, key)  # the key's first use writes its last_used_at once
    for url in (CONTACTS, "/api/v1/events/", "/api/v1/orders/"):
        counts = []
        for size in (2, 30):
            with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(8):
                page = get(client, url, key, {"page_size": size})
            assert len(page["results"]) == size
            counts.append(len(queries))
        assert counts[0] == counts[1], url


# --- Contacts: writing -------------------------------------------------------------------------


def test_create_resolves_through_identity_and_is_idempotent(client, key):
    body = {"email": "Ann@Example.com", "first_name": "Ann", "country": "de"}
    first = send(client, "post", CONTACTS, body, key)
    assert first.status_code == 201
    created = first.json()
    assert created["email"] == "ann@example.com" and created["country"] == "DE"
    again = send(client, "post", CONTACTS, body, key)
    assert again.status_code == 200 and again.json()["id"] == created["id"]
    by_phone = ContactFactory(email="", phone="+4915100000001")
    IdentityFactory(contact=by_phone, kind="phone", value="+4915100000001")
    found = send(client, "post", CONTACTS, {"phone": "+49 151 00000001", "last_name": "Z"}, key)
    assert found.status_code == 200 and found.json()["id"] == by_phone.pk
    assert found.json()["last_name"] == by_phone.last_name  # nothing overwritten
    assert Contact.objects.count() == 2
    assert Identity.objects.filter(kind="email", value="ann@example.com").count() == 1


def test_update_changes_allowed_fields(client, key):
    contact = ContactFactory(company="")
    response = send(
        client, "patch", f"{CONTACTS}{contact.pk}/", {"company": "ACME", "country": "fr"}, key
    )
    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.company, contact.country) == ("ACME", "FR")
    assert response.json()["company"] == "ACME"
    assert send(client, "put", f"{CONTACTS}{contact.pk}/", {"company": "x"}, key).status_code == 405


def test_merge_moves_everything_to_the_survivor(client, key):
    survivor, merged = ContactFactory(), ContactFactory()
    EventFactory(contact=merged)
    body = {"survivor": survivor.pk, "merged": merged.pk, "reason": "same person"}
    response = send(client, "post", f"{CONTACTS}merge/", body, key)
    assert response.status_code == 200
    assert response.json() == body
    merged.refresh_from_db()
    assert merged.merged_into_id == survivor.pk
    assert survivor.events.count() == 1
    again = send(client, "post", f"{CONTACTS}merge/", body, key)
    assert again.status_code == 409
    assert get(client, f"{CONTACTS}{merged.pk}/", key)["merged_into"] == survivor.pk
    bad = send(client, "post", f"{CONTACTS}merge/", {**body, "merged": survivor.pk}, key)
    assert bad.status_code == 400 and "merged" in bad.json()["error"]["fields"]


def test_export_returns_the_document_and_is_audited(client, key):
    contact = ContactFactory(first_name="Eve")
    EventFactory(contact=contact)
    response = client.post(f"{CONTACTS}{contact.pk}/export/", headers=bearer(key))
    assert response.status_code == 200
    document = response.json()
    assert document["contact"]["first_name"] == "Eve" and len(document["events"]) == 1
    assert response["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert str(contact.pk) in event.target and event.detail["via"] == "api"
    assert event.detail["api_key"] and event.actor is not None
    assert PrivacyRequest.objects.filter(
        kind="export", contact_id=contact.pk, origin="api"
    ).exists()


def test_erase_needs_an_explicit_confirmation_and_is_audited(client, key):
    contact = ContactFactory(first_name="Eve")
    url = f"{CONTACTS}{contact.pk}/erase/"
    for body in ({}, {"confirm": "yes"}, {"confirm": "erase"}):
        response = send(client, "post", url, body, key)
        assert response.status_code == 400
        assert "confirm" in response.json()["error"]["fields"]
    contact.refresh_from_db()
    assert contact.erased_at is None and contact.first_name == "Eve"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ERASURE).exists()
    response = send(client, "post", url, {"confirm": "ERASE"}, key)
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.erased_at is not None and contact.first_name == ""
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ERASURE).count() == 1
    assert send(client, "post", url, {"confirm": "ERASE"}, key).status_code == 409


# --- Events and orders -------------------------------------------------------------------------


def test_events_filter_by_contact_name_and_time(client, key):
    now = datetime.now(UTC)
    ann, bob = ContactFactory(), ContactFactory()
    old = EventFactory(contact=ann, name="Order Completed", occurred_at=now - timedelta(days=10))
    new = EventFactory(contact=ann, name="Product Viewed", occurred_at=now)
    EventFactory(contact=bob, name="Product Viewed", occurred_at=now)
    assert ids(get(client, "/api/v1/events/", key, {"contact": ann.pk})) == [new.pk, old.pk]
    assert ids(
        get(client, "/api/v1/events/", key, {"contact": ann.pk, "name": "Order Completed"})
    ) == [old.pk]
    window = {
        "occurred_from": (now - timedelta(days=11)).isoformat(),
        "occurred_to": (now - timedelta(days=1)).isoformat(),
    }
    assert ids(get(client, "/api/v1/events/", key, window)) == [old.pk]
    assert get(client, f"/api/v1/events/{old.pk}/", key)["name"] == "Order Completed"


def test_orders_with_lines_and_refunds_filter_by_status(client, key):
    ann = ContactFactory()
    paid = order_for(ann)
    body = get(client, f"/api/v1/orders/{paid.pk}/", key)
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [("SKU-1", 2)]
    assert [r["amount"] for r in body["refunds"]] == ["5.00"]
    assert ids(get(client, "/api/v1/orders/", key, {"status": "paid", "contact": ann.pk})) == [
        paid.pk
    ]
    assert ids(get(client, "/api/v1/orders/", key, {"status": "cancelled"})) == []


@pytest.mark.parametrize("url", ["/api/v1/events/", "/api/v1/orders/"])
def test_event_and_order_filters_refuse_nonsense(client, key, url):
    response = client.get(
        url, {"contact": "abc", "placed_from": "x", "occurred_from": "x"}, headers=bearer(key)
    )
    assert response.status_code == 400
