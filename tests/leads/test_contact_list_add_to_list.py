"""“Add these to a list” on the contact list: everyone the filters match goes into an
existing static list or a new one, after a confirmation with the count, in one INSERT …
SELECT; members already in the list are not counted twice; mistakes get clear messages;
only people who manage segments see the control or may post."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from growth.roles import Role
from leads.models import Contact, Segment, SegmentMembership
from leads.services import segments as services
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db

URL = "/contacts/add-to-list/"


@pytest.fixture
def germans() -> list[Contact]:
    people = [ContactFactory(country="DE", first_name=f"Hans{n}") for n in range(3)]
    ContactFactory(country="FR")
    ContactFactory(country="DE", merged_into=people[0])  # a tombstone is nobody to add
    return people


@pytest.fixture
def vip() -> Segment:
    return services.segment_create(name="VIP prospects", kind="static")


def members(segment: Segment) -> set[int]:
    return set(
        SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).values_list(
            "contact_id", flat=True
        )
    )


def said(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- The control on the list ----------------------------------------------------------------------


def test_the_list_offers_its_filters_to_people_who_manage_segments(client_as, germans):
    html = (
        client_as(Role.MARKETER)
        .get(reverse("contacts"), {"country": "DE", "sort": "score", "after": "x"})
        .content.decode()
    )
    assert f'href="{URL}?country=DE" data-testid="add-to-list"' in html


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.MANAGER, Role.ADMIN])
def test_other_roles_do_not_see_the_control(client_as, germans, role):
    response = client_as(role).get(reverse("contacts"))
    assert response.status_code == 200 and b'data-testid="add-to-list"' not in response.content


def test_an_empty_list_offers_nothing_to_add(client_as):
    response = client_as(Role.MARKETER).get(reverse("contacts"), {"country": "JP"})
    assert b'data-testid="add-to-list"' not in response.content


# --- Choosing and confirming ------------------------------------------------------------------


def test_choosing_shows_the_count_the_filters_and_the_static_lists_only(
    client_as, germans, vip, django_assert_num_queries
):
    Segment.objects.create(name="Berlin", kind="dynamic")
    client = client_as(Role.MARKETER)
    client.get(reverse("contacts"))  # the session is warm
    # session, user, its two permission reads; the count; the static lists; the layout's roles
    with django_assert_num_queries(7):
        response = client.get(URL, {"country": "DE", "stage": "subscriber"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "3 contacts match the contact list's filters." in html
    assert "<li>Country: <strong>DE</strong></li>" in html
    assert "<li>Stage: <strong>Subscriber</strong></li>" in html
    assert f'<option value="{vip.pk}">VIP prospects</option>' in html
    assert "Berlin" not in html
    assert '<input type="hidden" name="country" value="DE">' in html
    assert '<input type="hidden" name="stage" value="subscriber">' in html


def test_the_confirmation_names_the_count_and_the_list(client_as, vip):
    Contact.objects.bulk_create(
        [Contact(email=f"nl{n}@example.com", country="NL") for n in range(1234)]
    )
    client = client_as(Role.MARKETER)
    response = client.get(URL, {"country": "NL", "segment": vip.pk, "name": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Add 1,234 contacts to “VIP prospects”?" in html
    assert "Add 1,234 contacts</button>" in html
    assert f'<input type="hidden" name="segment" value="{vip.pk}">' in html
    assert '<input type="hidden" name="country" value="NL">' in html
    assert 'method="post"' in html
    assert members(vip) == set()  # asking adds nobody

    new = client.get(URL, {"country": "NL", "segment": "", "name": "Dutch fair"})
    assert (
        "Create the static list “Dutch fair” and add 1,234 contacts to it?" in new.content.decode()
    )
    assert not Segment.objects.filter(name="Dutch fair").exists()


def test_one_contact_is_said_in_the_singular(client_as, vip):
    ContactFactory(country="AT")
    html = client_as(Role.MARKETER).get(URL, {"country": "AT", "segment": vip.pk}).content.decode()
    assert "Add 1 contact to “VIP prospects”?" in html


# --- Adding -------------------------------------------------------------------------------------


def test_adding_to_an_existing_list_counts_members_once(client_as, germans, vip):
    already = germans[1]
    outsider = ContactFactory(country="FR")
    services.static_list_add(segment=vip, contact_ids=[already.pk, outsider.pk])
    client = client_as(Role.MARKETER)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(URL, {"country": "DE", "segment": vip.pk})
    assert (response.status_code, response["Location"]) == (302, f"/segments/{vip.pk}/")
    assert said(response) == ["2 contacts added to “VIP prospects”. 1 was in it already."]
    assert members(vip) == {g.pk for g in germans} | {outsider.pk}
    assert SegmentMembership.objects.filter(segment=vip, contact=already).count() == 1
    assert set(
        SegmentMembership.objects.filter(segment=vip, via="bulk").values_list(
            "contact_id", flat=True
        )
    ) == {germans[0].pk, germans[2].pk}
    assert Segment.objects.get(pk=vip.pk).member_count == 4
    inserts = [q for q in captured if "INSERT INTO leads_segmentmembership" in q["sql"]]
    assert len(inserts) == 1  # one INSERT … SELECT, not one per contact


def test_adding_costs_the_same_queries_for_three_contacts_or_three_hundred(client_as, vip):
    client = client_as(Role.MARKETER)

    def post(country: str, n: int) -> int:
        Contact.objects.bulk_create(
            [Contact(email=f"{country}{i}@example.com", country=country) for i in range(n)]
        )
        with CaptureQueriesContext(connection) as captured:
            assert client.post(URL, {"country": country, "segment": vip.pk}).status_code == 302
        return len(captured)

    assert post("PL", 3) == post("CZ", 300)


def test_adding_to_a_new_list_creates_it_with_them(client_as, germans):
    response = client_as(Role.MARKETER).post(URL, {"country": "DE", "name": " Fair 2024 "})
    created = Segment.objects.get(name="Fair 2024")
    assert (created.kind, created.member_count) == ("static", 3)
    assert response["Location"] == f"/segments/{created.pk}/"
    assert said(response) == ["Static list “Fair 2024” created with 3 contacts."]
    assert members(created) == {g.pk for g in germans}


def test_the_search_and_every_filter_of_the_list_apply(client_as, germans, vip):
    ContactFactory(country="DE", first_name="Greta", lifecycle_stage="mql")
    client_as(Role.MARKETER).post(
        URL, {"country": "DE", "q": "hans", "stage": "subscriber", "segment": vip.pk}
    )
    assert members(vip) == {g.pk for g in germans}


# --- Mistakes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_no_list_chosen(client_as, germans, vip, method):
    response = getattr(client_as(Role.MARKETER), method)(
        URL, {"country": "DE", "segment": "", "name": "  "}
    )
    assert response.status_code == 400
    assert "Choose one of your static lists, or type a name for a new one." in (
        response.content.decode()
    )
    assert members(vip) == set()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_taken_name(client_as, germans, vip, method):
    response = getattr(client_as(Role.MARKETER), method)(
        URL, {"country": "DE", "name": "vip PROSPECTS"}
    )
    assert response.status_code == 400
    assert (
        'data-testid="error-name">A static list called “vip PROSPECTS” already exists: '
        "choose it from the lists, or type another name.</small>"
    ) in response.content.decode()
    assert Segment.objects.filter(kind="static").count() == 1 and members(vip) == set()


def test_a_list_and_a_new_name_at_once(client_as, germans, vip):
    response = client_as(Role.MARKETER).post(URL, {"country": "DE", "segment": vip.pk, "name": "X"})
    assert response.status_code == 400
    assert "Choose an existing list or type a name for a new one, not both." in (
        response.content.decode()
    )
    assert members(vip) == set() and not Segment.objects.filter(name="X").exists()


def test_a_segment_that_is_not_a_static_list(client_as, germans):
    rfm = Segment.objects.get(rfm_key="champions")
    response = client_as(Role.MARKETER).post(URL, {"country": "DE", "segment": rfm.pk})
    assert response.status_code == 400
    assert "That list is gone or is not a static list: choose another one." in (
        response.content.decode()
    )
    assert members(rfm) == set()


@pytest.mark.parametrize("method", ["get", "post"])
def test_no_contact_matches(client_as, germans, vip, method):
    client = client_as(Role.MARKETER)
    response = getattr(client, method)(URL, {"country": "JP", "name": "Japan"})
    html = response.content.decode()
    assert response.status_code == (400 if method == "post" else 200)
    assert "No contact matches these filters, so there is nobody to add." in html
    assert 'data-testid="confirm-form"' not in html
    assert not Segment.objects.filter(name="Japan").exists()


# --- Who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.MANAGER, Role.ADMIN, Role.REP])
def test_other_roles_get_403(client_as, germans, vip, role):
    client = client_as(role)
    assert client.get(URL, {"country": "DE"}).status_code == 403
    assert client.post(URL, {"country": "DE", "segment": vip.pk}).status_code == 403
    assert client.post(URL, {"country": "DE", "name": "Mine"}).status_code == 403
    assert members(vip) == set() and not Segment.objects.filter(name="Mine").exists()


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.post(URL, {"name": "Mine"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
