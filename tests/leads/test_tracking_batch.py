"""The set-based tracking batch: a whole batch in a fixed number of statements, with the
same outcome as processing its messages one by one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Contact, ContactMerge, Event, Identity, InboundDelivery, Session
from leads.services.inbound import inbound_process_batch
from tests.leads.helpers import post_segment, process_all

pytestmark = pytest.mark.django_db


def _batch(client, key: str, messages: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    response = post_segment(client, key, "batch", {"batch": messages})
    assert response.status_code == 200, response.content


def _page(anonymous_id: str, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "page",
        "anonymousId": anonymous_id,
        "messageId": f"{anonymous_id}-page-{n}",
        "timestamp": f"2026-11-01T10:{n:02d}:00Z",
        "properties": {"url": f"https://shop.example/p/{n}?utm_source=google&utm_medium=cpc"},
        **extra,
    }


def test_visitors_in_one_batch_become_one_contact_each_with_their_sessions(
    client, tracking_source
) -> None:
    _, key = tracking_source
    messages = [_page("anon-a", n) for n in range(3)] + [_page("anon-b", n) for n in range(2)]
    messages.append(
        {
            "type": "identify",
            "anonymousId": "anon-a",
            "userId": "user-a",
            "messageId": "anon-a-identify",
            "timestamp": "2026-11-01T10:05:00Z",
            "traits": {"email": "Ann@Example.com", "firstName": "Ann"},
        }
    )
    messages.append(
        {
            "type": "track",
            "anonymousId": "anon-b",
            "event": "Product Viewed",
            "messageId": "anon-b-view",
            "timestamp": "2026-11-01T10:06:00Z",
            "properties": {"product_id": "sku-1"},
        }
    )
    _batch(client, key, messages)

    assert inbound_process_batch() == len(messages)

    assert Contact.objects.count() == 2
    ann = Identity.objects.get(kind="email", value="ann@example.com").contact
    assert (ann.first_name, ann.email, ann.source_channel) == (
        "Ann",
        "ann@example.com",
        "google / cpc",
    )
    assert set(ann.identities.values_list("kind", "value")) == {
        ("anonymous_id", "anon-a"),
        ("user_id", "user-a"),
        ("email", "ann@example.com"),
    }
    assert ann.events.count() == 4
    session = Session.objects.get(contact=ann)
    assert session.page_views == 3
    assert ann.events.filter(name="Page Viewed", session=session).count() == 3
    other = Contact.objects.exclude(pk=ann.pk).get()
    assert list(other.events.order_by("occurred_at").values_list("name", flat=True)) == [
        "Page Viewed",
        "Page Viewed",
        "Product Viewed",
    ]
    # A tracked action belongs to the visit it happened in (the shop funnel follows visits).
    visit = Session.objects.get(contact=other)
    assert other.events.get(name="Product Viewed").session_id == visit.pk
    assert InboundDelivery.objects.filter(status="processed", attempts=1).count() == len(messages)


def test_a_later_batch_continues_the_visit_and_the_contact(client, tracking_source) -> None:
    _, key = tracking_source
    _batch(client, key, [_page("anon-c", 1)])
    process_all()
    _batch(client, key, [_page("anon-c", 2), _page("anon-c", 3)])
    process_all()

    contact = Contact.objects.get()
    assert Session.objects.get(contact=contact).page_views == 3
    assert contact.events.count() == 3


def test_an_action_joins_the_visit_of_an_earlier_batch_but_not_a_stale_one(
    client, tracking_source
) -> None:
    _, key = tracking_source
    _batch(client, key, [_page("anon-d", 1)])
    process_all()
    track = {"type": "track", "anonymousId": "anon-d", "event": "Product Added"}
    _batch(
        client,
        key,
        [
            {**track, "messageId": "d-add", "timestamp": "2026-11-01T10:20:00Z"},
            {**track, "messageId": "d-late", "timestamp": "2026-11-01T12:00:00Z"},
        ],
    )
    process_all()

    visit = Session.objects.get()
    sessions = dict(
        Event.objects.filter(name="Product Added").values_list("message_id", "session_id")
    )
    assert sessions == {"d-add": visit.pk, "d-late": None}  # 30 idle minutes end a visit


def _statements_for(client, key: str, visitors: list[str]) -> int:  # type: ignore[no-untyped-def]
    _batch(client, key, [_page(v, n % 60) for n, v in enumerate(visitors)])
    with CaptureQueriesContext(connection) as queries:
        assert inbound_process_batch() == len(visitors)
    return len(queries)


def test_a_batch_costs_the_same_statements_for_ten_or_a_hundred_visitors(
    client, tracking_source
) -> None:
    _, key = tracking_source
    ten = _statements_for(client, key, [f"a-{n}" for n in range(10)])
    hundred = _statements_for(client, key, [f"b-{n}" for n in range(100)])
    assert hundred == ten
    assert Contact.objects.count() == 110
    assert Event.objects.count() == Session.objects.count() == 110


def test_a_visitor_whose_identities_belong_to_two_contacts_is_merged(
    client, tracking_source
) -> None:
    _, key = tracking_source
    _batch(
        client,
        key,
        [
            {"type": "identify", "userId": "u-1", "messageId": "m1", "traits": {"plan": "a"}},
            {"type": "identify", "anonymousId": "anon-x", "messageId": "m2"},
        ],
    )
    process_all()
    assert Contact.objects.filter(merged_into=None).count() == 2

    _batch(
        client,
        key,
        [
            {
                "type": "track",
                "event": "Signed In",
                "userId": "u-1",
                "anonymousId": "anon-x",
                "messageId": "m3",
            },
            _page("someone-else", 1),
        ],
    )
    process_all()

    survivors = Contact.objects.filter(merged_into=None)
    assert survivors.count() == 2
    assert ContactMerge.objects.count() == 1
    merged = Identity.objects.get(value="u-1").contact
    assert merged == Identity.objects.get(value="anon-x").contact
    assert merged.events.count() == 3
    assert InboundDelivery.objects.exclude(status="processed").count() == 0


def test_a_message_that_cannot_be_processed_fails_alone(client, tracking_source) -> None:
    source, key = tracking_source
    _batch(client, key, [_page("anon-d", 1), _page("anon-e", 1)])
    # Stored by some older version with a body that no longer parses.
    InboundDelivery.objects.create(
        source=source, topic="track", delivery_id="broken", body=b"{not json"
    )
    process_all()

    broken = InboundDelivery.objects.get(delivery_id="broken")
    assert broken.status == "failed"
    assert "JSONDecodeError" in broken.error
    assert InboundDelivery.objects.filter(status="processed").count() == 2
    assert Event.objects.count() == 2


def test_a_repeated_message_id_in_one_batch_is_one_event(client, tracking_source) -> None:
    source, _ = tracking_source
    body = json.dumps(_page("anon-f", 1)).encode()
    for delivery_id in ("first", "second"):  # two deliveries of one message
        InboundDelivery.objects.create(
            source=source, topic="page", delivery_id=delivery_id, body=body
        )
    process_all()
    assert Event.objects.count() == 1
    assert InboundDelivery.objects.filter(status="processed").count() == 2


def _claim_first(monkeypatch, module, email: str) -> list[Contact]:  # type: ignore[no-untyped-def]
    """Make another writer (as a CSV import chunk does, without identity locks) take `email`
    just before `module`'s first identity insert."""
    from leads.services import identity

    real, claimed = identity.identities_insert, []

    def insert(rows):  # type: ignore[no-untyped-def]
        if not claimed:
            other = Contact.objects.create(email=email)
            Identity.objects.create(contact=other, kind="email", value=email)
            claimed.append(other)
        return real(rows)

    monkeypatch.setattr(module, "identities_insert", insert)
    return claimed


def test_an_identity_claimed_meanwhile_by_an_import_joins_that_contact_in_a_batch(
    client, tracking_source, monkeypatch
) -> None:
    from leads.ingest import tracking_batch

    _, key = tracking_source
    claimed = _claim_first(monkeypatch, tracking_batch, "race@example.com")
    _batch(
        client,
        key,
        [
            _page("anon-r", 1),
            {
                "type": "identify",
                "anonymousId": "anon-r",
                "messageId": "r-id",
                "traits": {"email": "race@example.com"},
            },
        ],
    )
    process_all()

    contact = Identity.objects.get(kind="email", value="race@example.com").contact
    assert contact == Identity.objects.get(kind="anonymous_id", value="anon-r").contact
    assert Contact.objects.filter(merged_into=None).count() == 1
    assert contact.events.count() == 2
    assert claimed


def test_an_identity_claimed_meanwhile_joins_that_contact_one_message_at_a_time(
    tracking_source, monkeypatch
) -> None:
    from django.db import transaction

    from leads.services import identity

    _claim_first(monkeypatch, identity, "solo@example.com")
    with transaction.atomic():
        contact = identity.contact_resolve(
            keys=[("anonymous_id", "anon-s"), ("email", "solo@example.com")]
        )
    assert Contact.objects.filter(merged_into=None).count() == 1
    assert set(contact.identities.values_list("kind", flat=True)) == {"anonymous_id", "email"}
