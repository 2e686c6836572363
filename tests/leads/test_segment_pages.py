"""Segment pages: list, builder and live count, create/edit with errors next to the field
and conflicts, detail with members (the contact list's filters), CSV export, static-list
tools, the contact page's panel, personas, permissions and query counts."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from growth.roles import Role
from leads.models import Segment, SegmentMembership
from leads.services import segments as services
from tests.leads.factories import ContactFactory, EventFactory

pytestmark = pytest.mark.django_db

DE = {
    "r.match": "all",
    "r_0.kind": "contact",
    "r_0.field": "country",
    "r_0.operator": "eq",
    "r_0.value": "DE",
}


def computed(name: str, rules: dict[str, Any], kind: str = "dynamic") -> Segment:
    segment = services.segment_create(name=name, kind=kind, rules=rules)
    services.segment_compute(segment_id=segment.pk)
    segment.refresh_from_db()
    return segment


DE_RULES = {
    "match": "all",
    "conditions": [{"kind": "contact", "field": "country", "operator": "eq", "value": "DE"}],
}


def test_the_list_shows_own_and_rfm_segments_with_growth(client_as, django_assert_max_num_queries):
    client = client_as(Role.MARKETER)
    for _n in range(5):
        ContactFactory(country="DE")
    for n in range(3):
        computed(f"Germany {n}", DE_RULES)
    with django_assert_max_num_queries(8):
        response = client.get("/segments/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="segment-row"') == 3
    assert html.count('data-testid="rfm-row"') == 6
    assert ">+5<" in html  # five entered this week


def test_an_empty_list_says_what_to_do(client_as):
    response = client_as(Role.MARKETER).get("/segments/")
    assert b'data-testid="empty"' in response.content
    assert "New segment" in response.content.decode()


def test_other_roles_are_refused(client_as):
    assert client_as(Role.REP).get("/segments/").status_code == 403
    assert client_as(Role.MANAGER).get("/segments/new/").status_code == 403


def test_the_builder_adds_and_removes_conditions_and_groups(client_as):
    client = client_as(Role.MARKETER)
    page = client.get("/segments/new/")
    assert page.status_code == 200 and b'name="r_0.kind"' in page.content
    added = client.post("/segments/builder/", {**DE, "builder": "add:r"})
    assert b'name="r_1.kind"' in added.content
    assert added["HX-Trigger-After-Settle"] == "segment-rules-changed"
    grouped = client.post("/segments/builder/", {**DE, "builder": "group:r"})
    assert b'name="r_1.match"' in grouped.content and b'name="r_1_0.kind"' in grouped.content
    removed = client.post(
        "/segments/builder/",
        {
            **DE,
            "r_1.kind": "score",
            "r_1.operator": "gte",
            "r_1.value": "3",
            "builder": "remove:r_0",
        },
    )
    html = removed.content.decode()
    assert 'name="r_0.kind"' in html and 'name="r_1.kind"' not in html
    assert 'value="score" selected' in html  # the score condition moved up to position 1
    switched = client.post("/segments/builder/", {**DE, "r_0.kind": "event", "builder": "kind:r_0"})
    assert b'name="r_0.name"' in switched.content and b'name="r_0.field"' not in switched.content
    filtered = client.post(
        "/segments/builder/",
        {
            "r.match": "all",
            "r_0.kind": "event",
            "r_0.name": "Product Viewed",
            "builder": "filter:r_0",
        },
    )
    assert b'name="r_0.f0.property"' in filtered.content


def test_the_live_count_and_sample(client_as, django_assert_max_num_queries):
    client = client_as(Role.MARKETER)
    anna = ContactFactory(country="DE", first_name="Anna", last_name="Berg")
    ContactFactory(country="FR")
    # Session and permissions (4), then count and sample in one savepoint (6), the sample's rows.
    with django_assert_max_num_queries(11):
        response = client.post("/segments/preview/", DE)
    html = response.content.decode()
    assert 'data-testid="preview-count">1<' in html and "Anna Berg" in html
    assert Segment.objects.filter(kind="dynamic").count() == 0  # nothing saved
    refused = client.post(
        "/segments/preview/", {**DE, "r_0.value": "", "r_1.kind": "score", "r_1.value": "x"}
    )
    text = refused.content.decode()
    assert 'data-testid="preview-problems"' in text
    assert "Condition 1, value:" in text and "Condition 2, value:" in text
    assert anna.pk


def test_creating_a_segment_with_a_wrong_value_shows_the_error_next_to_it(client_as):
    client = client_as(Role.MARKETER)
    response = client.post(
        "/segments/new/",
        {
            "segment_kind": "dynamic",
            "name": "Viewers",
            **DE,
            "r_1.kind": "event",
            "r_1.name": "Product Viewed",
            "r_1.count": "many",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="error-r_1.count"' in html and "Enter a whole number." in html
    assert 'value="Viewers"' in html and 'value="DE"' in html  # what was typed stays
    assert not Segment.objects.filter(name="Viewers").exists()


def test_creating_and_editing_a_segment(client_as, django_capture_on_commit_callbacks):
    client = client_as(Role.MARKETER)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/segments/new/", {"segment_kind": "dynamic", "name": "Germany", **DE}
        )
    segment = Segment.objects.get(name="Germany")
    assert response.status_code == 302 and response["Location"] == f"/segments/{segment.pk}/"
    assert segment.rules == DE_RULES and segment.state == "computing" and len(callbacks) == 1
    page = client.get(f"/segments/{segment.pk}/")
    assert b'data-testid="status"' in page.content and b'hx-trigger="every 1s"' in page.content

    edit = client.get(f"/segments/{segment.pk}/edit/")
    assert b'value="DE"' in edit.content and b'name="version"' in edit.content
    saved = client.post(
        f"/segments/{segment.pk}/edit/",
        {
            "segment_kind": "dynamic",
            "name": "Germany and Austria",
            "version": 1,
            **DE,
            "r_0.operator": "in",
            "r_0.value": "DE, AT",
        },
    )
    assert saved.status_code == 302
    segment.refresh_from_db()
    assert segment.rules["conditions"][0]["value"] == ["DE", "AT"] and segment.version == 2


def test_a_concurrent_edit_gets_a_conflict_not_a_silent_overwrite(client_as):
    segment = computed("Germany", DE_RULES)
    client = client_as(Role.MARKETER)
    services.segment_update(segment=segment, version=1, name="Renamed by Bob", rules=DE_RULES)
    response = client.post(
        f"/segments/{segment.pk}/edit/",
        {"segment_kind": "dynamic", "name": "Mine", "version": 1, **DE},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="conflict"' in html and "Renamed by Bob" in html
    assert 'name="version" value="2"' in html  # saving again, knowingly, replaces theirs
    assert Segment.objects.get(pk=segment.pk).name == "Renamed by Bob"


def test_detail_lists_members_with_the_contact_list_filters(
    client_as, django_assert_max_num_queries
):
    client = client_as(Role.MARKETER)
    leads = [
        ContactFactory(country="DE", lifecycle_stage="lead", last_name=f"Lead{n}") for n in range(3)
    ]
    ContactFactory(country="DE", lifecycle_stage="customer", last_name="Buyer")
    ContactFactory(country="FR", lifecycle_stage="lead")
    segment = computed("Germany", DE_RULES)
    with django_assert_max_num_queries(10):
        response = client.get(f"/segments/{segment.pk}/")
    assert response.content.decode().count('data-testid="member-row"') == 4
    with django_assert_max_num_queries(10):
        filtered = client.get(f"/segments/{segment.pk}/", {"stage": "lead"})
    assert filtered.content.decode().count('data-testid="member-row"') == 3
    assert b'data-testid="history"' in response.content

    export = client.get(f"/segments/{segment.pk}/members.csv", {"stage": "lead"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][0] == "id" and sorted(int(r[0]) for r in rows[1:]) == sorted(c.pk for c in leads)


def test_member_pages_are_keyset_pages(client_as, monkeypatch):
    from leads import selectors_segments

    monkeypatch.setattr(selectors_segments, "PAGE_SIZE", 2)
    people = [ContactFactory(country="DE") for _ in range(5)]
    segment = computed("Germany", DE_RULES)
    page = selectors_segments.segment_member_page(
        segment=segment, filters=selectors_segments.ContactFilters(), size=2
    )
    seen = [c.pk for c in page.contacts]
    while page.next_cursor:
        page = selectors_segments.segment_member_page(
            segment=segment,
            filters=selectors_segments.ContactFilters(),
            size=2,
            after=page.next_cursor,
        )
        seen += [c.pk for c in page.contacts]
    assert seen == sorted((c.pk for c in people), reverse=True)


def test_static_list_tools_on_its_page(client_as):
    client = client_as(Role.MARKETER)
    response = client.post("/segments/new/", {"segment_kind": "static", "name": "Trade fair"})
    fair = Segment.objects.get(name="Trade fair")
    assert response.status_code == 302 and fair.kind == "static"
    empty = client.get(f"/segments/{fair.pk}/")
    assert b'data-testid="empty"' in empty.content and b'data-testid="upload-form"' in empty.content

    ann = ContactFactory(email="ann@example.com")
    upload = SimpleUploadedFile(
        "fair.csv", b"email\nann@example.com\nnobody@example.com\n", "text/csv"
    )
    result = client.post(f"/segments/{fair.pk}/upload/", {"file": upload})
    html = result.content.decode()
    assert 'data-testid="added">1<' in html and "nobody@example.com" in html

    de = [ContactFactory(country="DE", lifecycle_stage="lead") for _ in range(2)]
    # The Contacts page's query string: first how many, then add them.
    confirm = client.get(f"/segments/{fair.pk}/add/", {"country": "de", "stage": "lead"})
    assert 'data-testid="add-count">2 contacts match' in confirm.content.decode()
    assert fair.memberships.count() == 1  # nothing added yet
    added = client.post(f"/segments/{fair.pk}/add/", {"country": "de", "stage": "lead"})
    assert added.status_code == 302
    assert {m.contact_id for m in fair.memberships.filter(exited_at__isnull=True)} == {
        ann.pk,
        *(c.pk for c in de),
    }
    nothing = client.post(f"/segments/{fair.pk}/add/", {})
    assert nothing.status_code == 302  # refused: no filter at all would add everyone

    client.post(f"/segments/{fair.pk}/remove/", {"contact": [ann.pk]})
    assert not fair.memberships.filter(contact=ann, exited_at__isnull=True).exists()
    fair.refresh_from_db()
    assert fair.member_count == 2


def test_the_contact_page_loads_the_panel_and_adds_to_a_list(client_as):
    client = client_as(Role.MARKETER)
    contact = ContactFactory(country="DE")
    fair = services.segment_create(name="Trade fair", kind="static")
    germany = computed("Germany", DE_RULES)
    page = client.get(f"/contacts/{contact.pk}/")
    assert f'hx-get="/contacts/{contact.pk}/segments/"'.encode() in page.content
    panel = client.get(f"/contacts/{contact.pk}/segments/")
    assert b"Germany" in panel.content and b'data-testid="add-to-list"' in panel.content
    changed = client.post(
        f"/contacts/{contact.pk}/segments/change/", {"segment": fair.pk}, HTTP_HX_REQUEST="true"
    )
    assert (
        changed.status_code == 200
        and changed.content.decode().count('data-testid="contact-segment"') == 2
    )
    assert SegmentMembership.objects.get(segment=fair, contact=contact).via == "hand"
    why = client.get(f"/contacts/{contact.pk}/segments/{germany.pk}/why/")
    assert b"yes" in why.content and "country is “DE”" in why.content.decode()
    client.post(
        f"/contacts/{contact.pk}/segments/change/", {"segment": fair.pk, "action": "remove"}
    )
    assert not SegmentMembership.objects.filter(
        segment=fair, contact=contact, exited_at__isnull=True
    ).exists()


def test_a_sales_manager_sees_the_panel_without_the_tools(client_as):
    contact = ContactFactory()
    services.segment_create(name="Trade fair", kind="static")
    panel = client_as(Role.SALES_MANAGER).get(f"/contacts/{contact.pk}/segments/")
    assert panel.status_code == 200 and b'data-testid="add-to-list"' not in panel.content


def test_rfm_segments_explain_themselves_and_cannot_be_edited(client_as):
    client = client_as(Role.MARKETER)
    champions = Segment.objects.get(rfm_key="champions")
    page = client.get(f"/segments/{champions.pk}/")
    assert "R ≥ 4, F ≥ 4 and M ≥ 4" in page.content.decode()
    assert client.get(f"/segments/{champions.pk}/edit/").status_code == 302
    client.post(f"/segments/{champions.pk}/delete/")
    assert Segment.objects.filter(pk=champions.pk).exists()


def test_deleting_a_segment(client_as):
    segment = computed("Germany", DE_RULES)
    response = client_as(Role.MARKETER).post(f"/segments/{segment.pk}/delete/")
    assert response.status_code == 302 and not Segment.objects.filter(pk=segment.pk).exists()


def test_event_conditions_from_the_form(client_as):
    client = client_as(Role.MARKETER)
    viewer = ContactFactory(country="DE")
    EventFactory(contact=viewer, name="Product Viewed", properties={"category": "shoes"})
    EventFactory(contact=viewer, name="Product Viewed", properties={"category": "shoes"})
    data = {
        **DE,
        "r_1.kind": "event",
        "r_1.name": "Product Viewed",
        "r_1.count_operator": "gte",
        "r_1.count": "2",
        "r_1.days": "30",
        "r_1.f0.property": "category",
        "r_1.f0.operator": "eq",
        "r_1.f0.value": "shoes",
        "r_1.f1.property": "",
        "r_1.f1.operator": "eq",
        "r_1.f1.value": "",
    }
    response = client.post("/segments/preview/", data)
    assert 'data-testid="preview-count">1<' in response.content.decode()
