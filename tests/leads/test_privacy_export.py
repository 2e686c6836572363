"""A contact's data export (GDPR) holds every segment and list stay of the person, the
closed ones too, read in one query however many there are."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from growth.roles import Role
from leads.models import Segment, SegmentMembership
from leads.services.privacy import contact_export_document
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def stays():  # type: ignore[no-untyped-def]
    contact, other = ContactFactory(), ContactFactory()
    fair = Segment.objects.create(name="Trade fair 2024", kind=Segment.Kind.STATIC)
    germans = Segment.objects.create(name="Germans", kind=Segment.Kind.DYNAMIC)
    stay = SegmentMembership.objects.create
    stay(segment=germans, contact=contact, entered_at=at(5), via="rules")
    stay(segment=fair, contact=contact, entered_at=at(1), exited_at=at(3, 17), via="csv")
    stay(segment=fair, contact=contact, entered_at=at(10), via="hand")
    stay(segment=fair, contact=other, entered_at=at(2), via="hand")  # someone else's
    return contact


def test_the_export_lists_every_stay_in_order_with_the_segment_named(stays):
    document = contact_export_document(stays)
    assert document["segment_memberships"] == [
        {
            "segment_name": "Trade fair 2024",
            "segment_kind": "static",
            "entered_at": "2024-03-01T09:00:00Z",
            "exited_at": "2024-03-03T17:00:00Z",
            "via": "csv",
        },
        {
            "segment_name": "Germans",
            "segment_kind": "dynamic",
            "entered_at": "2024-03-05T09:00:00Z",
            "exited_at": None,
            "via": "rules",
        },
        {
            "segment_name": "Trade fair 2024",
            "segment_kind": "static",
            "entered_at": "2024-03-10T09:00:00Z",
            "exited_at": None,
            "via": "hand",
        },
    ]


def test_the_stays_cost_one_query_however_many_there_are(stays):
    def membership_queries(contact) -> tuple[int, int]:  # type: ignore[no-untyped-def]
        with CaptureQueriesContext(connection) as captured:
            contact_export_document(contact)
        touching = [q for q in captured if "leads_segmentmembership" in q["sql"]]
        return len(captured), len(touching)

    alone = ContactFactory()
    assert contact_export_document(alone)["segment_memberships"] == []
    total, touching = membership_queries(alone)
    assert touching == 1
    assert membership_queries(stays) == (total, 1)  # three stays, not three queries


def test_the_downloaded_export_holds_them(client_as, stays):
    response = client_as(Role.ADMIN).post(reverse("contact_export_json", args=[stays.pk]))
    document = json.loads(response.content)
    assert [(m["segment_name"], m["via"]) for m in document["segment_memberships"]] == [
        ("Trade fair 2024", "csv"),
        ("Germans", "rules"),
        ("Trade fair 2024", "hand"),
    ]
