"""The audit log page: admins read the events newest first, filter them, page through them
and export them (the export itself on record); nobody else opens it. Exports and erasures
of contact data made in the web UI are on record too."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from growth import audit
from growth.models import AuditEvent
from growth.roles import Role
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db

URL = "/settings/audit/"
DASH = "\N{EN DASH}"  # an empty cell


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def recorded(action: str, when: datetime, **kwargs) -> AuditEvent:  # type: ignore[no-untyped-def]
    with time_machine.travel(when, tick=False):
        return audit.record(action, **kwargs)


def shown(response) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(action, target) of each row of the table, top to bottom."""
    body = response.content.decode()
    if 'data-testid="audit-events"' not in body:
        return []
    rows = (
        body.split('data-testid="audit-events"')[1]
        .split("</table>")[0]
        .split("<tr data-action=")[1:]
    )
    return [(row.split('"')[1], row.split("<td>")[4].split("</td>")[0]) for row in rows]


@pytest.fixture
def ada(client, user_with_role):  # type: ignore[no-untyped-def]
    """An admin, signed in with `client`; the log emptied of that sign-in."""
    admin = user_with_role(Role.ADMIN, username="ada")
    client.force_login(admin)
    AuditEvent.objects.all().delete()
    return admin


@pytest.fixture
def events(ada):  # type: ignore[no-untyped-def]
    recorded("sign_in", at(1), actor=ada, ip="198.51.100.1")
    recorded("sign_in_failed", at(2), actor_label="mallory", target="mallory", ip="203.0.113.9")
    recorded("roles_changed", at(3), actor=ada, target="rob", added=["sales_manager"], removed=[])
    recorded("export", at(4), actor=ada, target="contacts.csv", query="stage=mql")
    return ada


def test_an_admin_reads_the_events_newest_first(client, events, django_assert_max_num_queries):  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(6):
        response = client.get(URL)
    assert response.status_code == 200
    assert shown(response) == [
        ("export", "contacts.csv"),
        ("roles_changed", "rob"),
        ("sign_in_failed", "mallory"),
        ("sign_in", DASH),
    ]
    body = response.content.decode()
    assert "203.0.113.9" in body and "2026-03-02 12:00:00" in body
    assert "added: [&quot;sales_manager&quot;]" in body  # the detail, readable
    assert 'data-section="audit"' in body  # in the admin's menu


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "sign_in_failed"}, ["mallory"]),
        ({"user": "ADA"}, ["contacts.csv", "rob", DASH]),
        ({"since": "2026-03-02", "until": "2026-03-03"}, ["rob", "mallory"]),
        ({"q": "sales_manager"}, ["rob"]),  # the detail is searched
        ({"q": "contacts"}, ["contacts.csv"]),
        ({"action": "erasure"}, []),
    ],
)
def test_filters(client, events, query, expected) -> None:  # type: ignore[no-untyped-def]
    response = client.get(URL, query)
    assert response.status_code == 200
    assert [target for _action, target in shown(response)] == expected
    if not expected:
        assert "No event matches these filters." in response.content.decode()


def test_bad_filters_get_a_400_with_the_reason(client, events) -> None:  # type: ignore[no-untyped-def]
    response = client.get(URL, {"since": "2026-03-05", "until": "2026-03-01"})
    assert response.status_code == 400
    assert "The start date is after the end date." in response.content.decode()
    assert client.get(URL, {"since": "yesterday"}).status_code == 400
    assert client.get(reverse("audit_export"), {"since": "not a date"}).status_code == 400
    assert not AuditEvent.objects.filter(target="audit log").exists()


def test_pages_of_fifty(client, ada) -> None:  # type: ignore[no-untyped-def]
    AuditEvent.objects.bulk_create(
        AuditEvent(action="sign_in", actor_label=f"u{n}", target=f"t{n:03d}") for n in range(55)
    )
    first = client.get(URL)
    assert len(shown(first)) == 50 and 'rel="next"' in first.content.decode()
    second = client.get(URL, {"page": "2"})
    assert len(shown(second)) == 5 and 'rel="next"' not in second.content.decode()
    assert client.get(URL, {"page": "x"}).status_code == 200


def test_the_empty_log_says_what_will_appear(client, ada) -> None:  # type: ignore[no-untyped-def]
    body = client.get(URL).content.decode()
    assert 'data-testid="audit-empty"' in body and "Nothing recorded yet." in body


@pytest.mark.parametrize("role", [Role.MARKETER, Role.REP, Role.SALES_MANAGER, Role.MANAGER])
def test_only_admins_open_it(client_as, events, role) -> None:  # type: ignore[no-untyped-def]
    client = client_as(role)
    for url in (URL, reverse("audit_export")):
        response = client.get(url)
        assert response.status_code == 403
        assert "mallory" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="export", target="audit log").exists()


def test_the_csv_export_holds_the_filtered_events_and_is_itself_recorded(client, events) -> None:  # type: ignore[no-untyped-def]
    response = client.get(reverse("audit_export"), {"user": "ada"}, REMOTE_ADDR="192.0.2.4")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["at", "action", "by", "target", "ip", "detail"]
    assert [(r[1], r[3]) for r in rows[1:]] == [
        ("export", "contacts.csv"),
        ("roles_changed", "rob"),
        ("sign_in", ""),
    ]
    export = AuditEvent.objects.get(action="export", target="audit log")
    assert (export.actor, export.ip, export.detail) == (
        events,
        "192.0.2.4",
        {"filters": {"user": "ada"}},
    )
    # …and shows on the page, newest first.
    assert shown(client.get(URL))[0] == ("export", "audit log")


# --- Exports and erasures in the web UI are on record ----------------------------------------


def test_contact_exports_and_erasure_are_recorded(client_as) -> None:  # type: ignore[no-untyped-def]
    from leads.models import Segment

    client = client_as(Role.ADMIN, Role.MARKETER)
    contact = ContactFactory(email="eve@example.com")

    response = client.get(reverse("contacts_export"), {"q": "eve"}, REMOTE_ADDR="192.0.2.8")
    b"".join(response.streaming_content)
    response = client.post(
        reverse("contact_export_json", args=[contact.pk]), REMOTE_ADDR="192.0.2.8"
    )
    assert response.status_code == 200
    segment = Segment.objects.create(name="Everyone", kind=Segment.Kind.STATIC)
    response = client.get(reverse("segment_export", args=[segment.pk]), REMOTE_ADDR="192.0.2.8")
    b"".join(response.streaming_content)
    response = client.post(
        reverse("contact_erase", args=[contact.pk]), {"confirm": "ERASE"}, REMOTE_ADDR="192.0.2.8"
    )
    assert response.status_code == 302

    events = list(AuditEvent.objects.filter(action__in=["export", "erasure"]).order_by("pk"))
    assert [(e.action, e.target) for e in events] == [
        ("export", "contacts.csv"),
        ("export", f"contact #{contact.pk}"),
        ("export", f"segment #{segment.pk} Everyone"),
        ("erasure", f"contact #{contact.pk}"),
    ]
    assert {e.ip for e in events} == {"192.0.2.8"}
    assert {e.actor_id for e in events} == {events[0].actor_id} and events[0].actor_id
    assert events[0].detail == {"query": "q=eve"}
    assert "eve@example.com" not in str([e.detail for e in events])


def test_an_erasure_a_shop_asked_for_names_the_shop(db) -> None:  # type: ignore[no-untyped-def]
    from leads.services.privacy import contact_erase

    contact = ContactFactory()
    contact_erase(contact=contact, origin="shopify:demo:customers/redact")
    event = AuditEvent.objects.get(action="erasure")
    assert (event.actor, event.actor_label, event.ip) == (
        None,
        "shopify:demo:customers/redact",
        None,
    )
