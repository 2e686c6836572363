"""Deleting a segment asks first: the confirmation names its members, the journeys using it
(other apps register what of theirs names a segment) and the segments whose rules name
it; only the POST deletes. Shipped RFM segments still cannot be deleted."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from growth.roles import Role
from leads.models import Segment
from leads.services import segments as services
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db

DE_RULES = {
    "match": "all",
    "conditions": [{"kind": "contact", "field": "country", "operator": "eq", "value": "DE"}],
}


def computed(name: str, rules: dict, kind: str = "dynamic") -> Segment:  # type: ignore[type-arg]
    segment = services.segment_create(name=name, kind=kind, rules=rules)
    services.segment_compute(segment_id=segment.pk)
    segment.refresh_from_db()
    return segment


@pytest.fixture
def germany() -> Segment:
    """A static list of three contacts (dynamic segments may name static lists)."""
    germany = services.segment_create(name="Germany", kind="static")
    services.static_list_add(
        segment=germany, contact_ids=[ContactFactory(country="DE").pk for _n in range(3)]
    )
    ContactFactory(country="FR")
    germany.refresh_from_db()
    return germany


def test_the_detail_page_links_to_the_confirmation_instead_of_deleting(client_as, germany):
    html = client_as(Role.MARKETER).get(f"/segments/{germany.pk}/").content.decode()
    assert f'href="/segments/{germany.pk}/delete/" data-testid="delete"' in html
    assert f'action="/segments/{germany.pk}/delete/"' not in html


def test_the_confirmation_names_members_journeys_and_dependants_and_deletes_nothing(
    client_as, germany, django_assert_max_num_queries
):
    naming = {
        "match": "all",
        "conditions": [{"kind": "member", "operator": "in", "segments": [germany.pk]}],
    }
    follower = computed("Followers of Germany", naming)
    other = computed("Also following", {"match": "any", "conditions": [DE_RULES, naming]})
    computed("Unrelated", DE_RULES)
    client = client_as(Role.MARKETER)
    # session, user, its two permission reads and its roles (the layout); the segment; the
    # dynamic segments' rules, however many name it
    with django_assert_max_num_queries(7):
        response = client.get(f"/segments/{germany.pk}/delete/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Delete “Germany”?" in html
    assert "It has 3 members." in html
    assert "No journey uses it." in html
    assert (
        f'<a href="/segments/{other.pk}/">Also following</a>, '
        f'<a href="/segments/{follower.pk}/">Followers of Germany</a>.'
    ) in html
    assert "Unrelated" not in html
    assert 'data-testid="delete-confirm"' in html and 'method="post"' in html
    assert Segment.objects.filter(pk=germany.pk).exists()


def test_journeys_registered_as_users_of_the_segment_are_listed(client_as, germany, monkeypatch):
    def journeys(segment: Segment) -> list[services.SegmentUse]:
        if segment.pk != germany.pk:
            return []
        return [
            services.SegmentUse(kind="journey", name="Willkommen", url="/journeys/7/"),
            services.SegmentUse(kind="journey", name="Abandoned cart DE"),
        ]

    monkeypatch.setattr(services, "_use_finders", [])
    services.segment_uses_register(journeys)
    services.segment_uses_register(journeys)  # registering twice lists them once
    html = client_as(Role.MARKETER).get(f"/segments/{germany.pk}/delete/").content.decode()
    assert "No journey uses it." not in html
    assert (
        "Journeys using it:\n  <strong>Abandoned cart DE</strong>, "
        '<a href="/journeys/7/">Willkommen</a>.'
    ) in html


def test_the_post_deletes_and_flags_the_segments_naming_it(client_as, germany):
    follower = computed(
        "Followers of Germany",
        {
            "match": "all",
            "conditions": [{"kind": "member", "operator": "in", "segments": [germany.pk]}],
        },
    )
    response = client_as(Role.MARKETER).post(f"/segments/{germany.pk}/delete/")
    assert (response.status_code, response["Location"]) == (302, "/segments/")
    assert not Segment.objects.filter(pk=germany.pk).exists()
    assert "“Germany”, which was deleted" in Segment.objects.get(pk=follower.pk).problem
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["“Germany” deleted."]


def test_a_persona_is_confirmed_and_deleted_the_same_way(client_as):
    persona = services.segment_create(name="Berlin buyers", kind="persona", rules=DE_RULES)
    client = client_as(Role.MARKETER)
    assert (
        "Delete “Berlin buyers”?" in client.get(f"/segments/{persona.pk}/delete/").content.decode()
    )
    client.post(f"/segments/{persona.pk}/delete/")
    assert not Segment.objects.filter(pk=persona.pk).exists()


def test_shipped_rfm_segments_cannot_be_deleted(client_as):
    champions = Segment.objects.get(rfm_key="champions")
    client = client_as(Role.MARKETER)
    assert 'data-testid="delete"' not in client.get(f"/segments/{champions.pk}/").content.decode()
    response = client.get(f"/segments/{champions.pk}/delete/")
    assert (response.status_code, response["Location"]) == (302, f"/segments/{champions.pk}/")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "The shipped RFM segments cannot be deleted."
    ]
    client.post(f"/segments/{champions.pk}/delete/")
    assert Segment.objects.filter(pk=champions.pk).exists()


@pytest.mark.parametrize("role", [Role.REP, Role.MANAGER, Role.SALES_MANAGER, Role.ADMIN])
def test_other_roles_can_neither_see_nor_confirm(client_as, germany, role):
    client = client_as(role)
    assert client.get(f"/segments/{germany.pk}/delete/").status_code == 403
    assert client.post(f"/segments/{germany.pk}/delete/").status_code == 403
    assert Segment.objects.filter(pk=germany.pk).exists()
