"""Segments, deliveries and journeys through the API: filters, members and runs by cursor,
no message content, enrolling through the journey's own entry rules, and list queries that
do not grow with the page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.journeys.engine import journey_enroll, journey_set_status
from automations.models import JourneyRun
from leads.models import Segment, SegmentMembership
from tests.api.conftest import bearer
from tests.api.helpers import delivery_for, manual_journey
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db


def get(client, url, key, params=None):  # type: ignore[no-untyped-def]
    response = client.get(url, params or {}, headers=bearer(key))
    assert response.status_code == 200, response.content
    return response.json()


def enroll(client, journey, key, body):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/journeys/{journey.pk}/enroll/",
        json.dumps(body),
        content_type="application/json",
        headers=bearer(key),
    )


def ids(page, field="id"):  # type: ignore[no-untyped-def]
    return [row[field] for row in page["results"]]


# --- Segments ----------------------------------------------------------------------------------


def test_segments_filter_by_kind_and_list_their_current_members(client, key):
    now = datetime.now(UTC)
    vip = Segment.objects.create(name="VIP", kind=Segment.Kind.STATIC, member_count=2)
    persona = Segment.objects.create(name="Hunter", kind=Segment.Kind.PERSONA)
    ann, bob, gone = ContactFactory(), ContactFactory(), ContactFactory()
    for i, contact in enumerate((ann, bob)):
        SegmentMembership.objects.create(
            segment=vip, contact=contact, entered_at=now - timedelta(days=i)
        )
    SegmentMembership.objects.create(
        segment=vip, contact=gone, entered_at=now - timedelta(days=9), exited_at=now
    )
    assert ids(get(client, "/api/v1/segments/", key, {"kind": "persona"})) == [persona.pk]
    body = get(client, f"/api/v1/segments/{vip.pk}/", key)
    assert (body["name"], body["kind"], body["member_count"]) == ("VIP", "static", 2)
    url, params, seen = f"/api/v1/segments/{vip.pk}/members/", {"page_size": 1}, []
    while url:
        page = get(client, url, key, params)
        seen += page["results"]
        url, params = page["next"], None
    assert [(m["contact"], m["email"]) for m in seen] == [(ann.pk, ann.email), (bob.pk, bob.email)]
    assert client.get("/api/v1/segments/999999/members/", headers=bearer(key)).status_code == 404
    refused = client.get("/api/v1/segments/", {"kind": "nope"}, headers=bearer(key))
    assert refused.status_code == 400


# --- Deliveries --------------------------------------------------------------------------------


def test_deliveries_filter_and_never_show_what_was_sent(client, key):
    journey = manual_journey("Welcome")
    ann, bob = ContactFactory(), ContactFactory()
    first = delivery_for(ann, journey)
    failed = delivery_for(bob, status="failed", reason="provider said no", channel="sms")
    page = get(client, "/api/v1/deliveries/", key)
    assert ids(page) == [failed.pk, first.pk]  # newest first
    assert ids(get(client, "/api/v1/deliveries/", key, {"contact": ann.pk})) == [first.pk]
    assert ids(get(client, "/api/v1/deliveries/", key, {"journey": journey.pk})) == [first.pk]
    assert ids(get(client, "/api/v1/deliveries/", key, {"status": "failed"})) == [failed.pk]
    assert ids(get(client, "/api/v1/deliveries/", key, {"channel": "sms"})) == [failed.pk]
    body = get(client, f"/api/v1/deliveries/{failed.pk}/", key)
    assert body["reason"] == "provider said no" and body["purpose"] == "marketing"
    text = json.dumps(body) + json.dumps(page)
    for secret in ("secret-token-in-a-link", "Your code", ann.email, "to_address", "body_"):
        assert secret not in text


# --- Journeys ----------------------------------------------------------------------------------


def test_journeys_with_run_counts_and_runs(client, key):
    journey = manual_journey("Onboarding")
    contacts = [ContactFactory() for _ in range(3)]
    journey_enroll(journey=journey, contact_ids=[c.pk for c in contacts])
    JourneyRun.objects.filter(contact=contacts[0]).update(status="converted")
    body = get(client, f"/api/v1/journeys/{journey.pk}/", key)
    assert (body["name"], body["status"], body["live_version"], body["trigger"]) == (
        "Onboarding",
        "active",
        1,
        "manual",
    )
    assert body["runs"] == {
        "total": 3,
        "active": 2,
        "done": 0,
        "converted": 1,
        "exited": 0,
        "failed": 0,
    }
    assert ids(get(client, "/api/v1/journeys/", key, {"status": "active"})) == [journey.pk]
    runs = get(client, f"/api/v1/journeys/{journey.pk}/runs/", key)
    assert sorted(ids(runs, "contact")) == sorted(c.pk for c in contacts)
    only = get(client, f"/api/v1/journeys/{journey.pk}/runs/", key, {"status": "converted"})
    assert ids(only, "contact") == [contacts[0].pk]
    assert runs["results"][0]["version"] == 1 and runs["results"][0]["ended_at"] is None


def test_enroll_goes_through_the_journeys_entry_rules(client, key):
    journey = manual_journey("Trial")
    ann = ContactFactory()
    first = enroll(client, journey, key, {"contact": ann.pk, "key": "signup-1"})
    assert first.status_code == 201, first.content
    assert first.json()["enrolled"] is True and first.json()["run"]["contact"] == ann.pk
    again = enroll(client, journey, key, {"contact": ann.pk, "key": "signup-1"})
    assert again.status_code == 200 and again.json()["enrolled"] is False
    assert again.json()["run"]["id"] == first.json()["run"]["id"]
    assert JourneyRun.objects.filter(journey=journey, contact=ann).count() == 1
    # Refusals: unknown contact 400, merged or erased 409, a journey not active 409.
    missing = enroll(client, journey, key, {"contact": 10**12})
    assert missing.status_code == 400 and "contact" in missing.json()["error"]["fields"]
    erased = ContactFactory(erased_at=datetime.now(UTC))
    assert enroll(client, journey, key, {"contact": erased.pk}).status_code == 409
    assert enroll(client, journey, key, {"contact": ann.pk, "extra": 1}).status_code == 400
    journey_set_status(journey=journey, status="paused", actor=None)
    paused = enroll(client, journey, key, {"contact": ContactFactory().pk})
    assert paused.status_code == 409
    assert "active" in paused.json()["error"]["message"]


# --- Query counts ------------------------------------------------------------------------------


def test_lists_queries_do_not_grow_with_the_page(client, key, django_assert_max_num_queries):
    segment = Segment.objects.create(name="All", kind=Segment.Kind.STATIC)
    contacts = [ContactFactory() for _ in range(30)]
    now = datetime.now(UTC)
    for i, contact in enumerate(contacts):
        Segment.objects.create(name=f"S{i}", kind=Segment.Kind.STATIC)
        SegmentMembership.objects.create(segment=segment, contact=contact, entered_at=now)
    journeys = [manual_journey(f"J{i}") for i in range(30)]
    journey_enroll(journey=journeys[0], contact_ids=[c.pk for c in contacts])
    for contact in contacts:
        delivery_for(contact, journeys[0])
    get(client, "/api/v1/segments/", key)  # the key's first use writes its last_used_at once
    for url in (
        "/api/v1/segments/",
        f"/api/v1/segments/{segment.pk}/members/",
        "/api/v1/deliveries/",
        "/api/v1/journeys/",
        f"/api/v1/journeys/{journeys[0].pk}/runs/",
    ):
        counts = []
        for size in (2, 30):
            with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(8):
                page = get(client, url, key, {"page_size": size})
            assert len(page["results"]) == size
            counts.append(len(queries))
        assert counts[0] == counts[1], url
