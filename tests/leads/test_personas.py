"""Buyer personas: assigned automatically and explainably, kept current through the
pipeline, counted by the MQL definition, usable in segment rules, size and conversion."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from growth.roles import Role
from leads.models import Contact, QualificationDefinition, Segment, SegmentMembership
from leads.selectors_segments import contact_explain, persona_list, segment_matching_ids
from leads.services import segments as services
from leads.services.segment_rules import rules_clean, rules_describe
from tests.leads.factories import ContactFactory, OrderFactory
from tests.leads.helpers import post_segment, process_all

pytestmark = pytest.mark.django_db

B2B_DACH = {
    "match": "all",
    "conditions": [
        {"kind": "contact", "field": "company", "operator": "exists"},
        {"kind": "contact", "field": "country", "operator": "in", "value": ["DE", "AT"]},
    ],
}


def persona(name: str = "DACH business buyer", rules: dict[str, Any] = B2B_DACH) -> Segment:
    segment = services.segment_create(name=name, kind="persona", rules=rules)
    services.segment_compute(segment_id=segment.pk)
    segment.refresh_from_db()
    return segment


def assigned(segment: Segment) -> set[int]:
    return set(
        SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).values_list(
            "contact_id", flat=True
        )
    )


def test_contacts_are_assigned_and_the_match_is_explained():
    fits = ContactFactory(company="Acme GmbH", country="DE")
    no_company = ContactFactory(company="", country="AT")
    ContactFactory(company="Acme Inc", country="US")
    dach = persona()
    assert assigned(dach) == {fits.pk} and dach.member_count == 1
    assert contact_explain(segment=dach, contact_id=fits.pk) == [
        ("company is set", True),
        ("country is one of “DE, AT”", True),
    ]
    assert contact_explain(segment=dach, contact_id=no_company.pk) == [
        ("company is set", False),
        ("country is one of “DE, AT”", True),
    ]


def test_persona_rules_cannot_depend_on_memberships():
    fair = services.segment_create(name="Fair", kind="static")
    with pytest.raises(ValidationError) as caught:
        services.segment_create(
            name="Fair people",
            kind="persona",
            rules={"match": "all", "conditions": [{"kind": "member", "segments": [fair.pk]}]},
        )
    assert "r_0.kind" in caught.value.message_dict


def test_segments_can_name_a_persona():
    fits = ContactFactory(company="Acme GmbH", country="DE", score=30)
    ContactFactory(company="Beta GmbH", country="DE", score=5)
    dach = persona()
    rules = rules_clean(
        {
            "match": "all",
            "conditions": [
                {"kind": "persona", "operator": "in", "personas": [dach.pk]},
                {"kind": "score", "operator": "gte", "value": 20},
            ],
        }
    )
    assert segment_matching_ids(rules=rules) == {fits.pk}
    assert "fits the persona “DACH business buyer”" in rules_describe(rules)
    with pytest.raises(ValidationError) as caught:
        rules_clean({"match": "all", "conditions": [{"kind": "persona", "personas": [999999]}]})
    assert "r_0.personas" in caught.value.message_dict


def mql_by_persona(*names: str) -> None:
    QualificationDefinition.objects.filter(kind="mql").update(
        criteria=[{"kind": "persona", "personas": list(names)}]
    )


def test_the_mql_definition_counts_a_persona_match_through_the_pipeline(
    client, tracking_source, django_capture_on_commit_callbacks
):
    dach = persona()
    mql_by_persona("dach business BUYER")  # names compare case-insensitively
    _, key = tracking_source
    post_segment(
        client,
        key,
        "identify",
        {
            "userId": "greta",
            "messageId": "greta-1",
            "traits": {
                "email": "greta@acme.de",
                "company": "Acme GmbH",
                "address": {"country": "DE"},
            },
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        process_all()
    greta = Contact.objects.get(email="greta@acme.de")
    assert assigned(dach) == {greta.pk}
    assert greta.lifecycle_stage == "mql"
    assert "fits the persona “DACH business buyer”" in greta.stage_changes.get().cause_detail


def test_a_new_persona_qualifies_its_members_once_computed(django_capture_on_commit_callbacks):
    mql_by_persona()  # any persona
    fits = ContactFactory(company="Acme GmbH", country="AT")
    with django_capture_on_commit_callbacks(execute=True):
        persona()
    fits.refresh_from_db()
    assert fits.lifecycle_stage == "mql"


def test_persona_size_and_conversion(client_as):
    buyer = ContactFactory(company="Acme GmbH", country="DE")
    ContactFactory(company="Beta GmbH", country="AT")
    ContactFactory(company="Gamma GmbH", country="DE")
    ContactFactory(company="Delta GmbH", country="DE")
    OrderFactory(contact=buyer, status="paid", total=Decimal("100"))
    dach = persona()
    empty = persona(
        name="Nobody",
        rules={"match": "all", "conditions": [{"kind": "score", "operator": "gt", "value": 1000}]},
    )
    rows = {row.segment.pk: row for row in persona_list()}
    assert (
        rows[dach.pk].segment.member_count,
        rows[dach.pk].customers,
        rows[dach.pk].conversion,
    ) == (4, 1, 25.0)
    assert rows[empty.pk].conversion is None
    page = client_as(Role.MARKETER).get("/segments/personas/")
    html = page.content.decode()
    assert 'data-testid="persona-conversion">25.0 %<' in html
    assert "company is set and country is one of" in html


def test_the_personas_page_says_what_to_do_when_empty(client_as):
    page = client_as(Role.MARKETER).get("/segments/personas/")
    assert b'data-testid="empty"' in page.content and b"New persona" in page.content
