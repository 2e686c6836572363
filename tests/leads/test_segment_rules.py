"""The segment rule language: every condition kind picks exactly the expected contacts,
groups nest, invalid rules are refused naming the field, and the SQL binds every value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError

from leads.models import Contact, Order, OrderLine, Product, Segment
from leads.selectors_segments import segment_matching_ids
from leads.services.segment_rules import (
    Context,
    Scope,
    errors_flat,
    matching_sql,
    rules_clean,
    rules_describe,
    rules_volatile,
)
from tests.leads.factories import ConsentFactory, ContactFactory, EventFactory, OrderFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 10, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def rules(*conditions: dict[str, Any], match: str = "all") -> dict[str, Any]:
    return {"match": match, "conditions": list(conditions)}


def matched(raw: dict[str, Any]) -> set[int]:
    return segment_matching_ids(rules=rules_clean(raw), now=NOW)


def ids(*contacts: Contact) -> set[int]:
    return {c.pk for c in contacts}


def contact(**fields: Any) -> Contact:
    return ContactFactory(**{"country": "", **fields})


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_contact_text_fields():
    de = contact(country="DE", email="anna@shop.de", company="Acme GmbH", locale="de-DE")
    fr = contact(country="FR", email="bob@mail.fr", properties={"city": "Paris"})
    nowhere = contact(email="", source_channel="google / cpc")
    assert matched(
        rules({"kind": "contact", "field": "country", "operator": "eq", "value": "de"})
    ) == ids(de)
    assert matched(
        rules({"kind": "contact", "field": "country", "operator": "in", "value": "DE, FR"})
    ) == ids(de, fr)
    assert matched(
        rules({"kind": "contact", "field": "country", "operator": "neq", "value": "DE"})
    ) == ids(fr, nowhere)
    assert matched(
        rules({"kind": "contact", "field": "email_domain", "operator": "eq", "value": "SHOP.de"})
    ) == ids(de)
    assert matched(
        rules({"kind": "contact", "field": "company", "operator": "contains", "value": "acme"})
    ) == ids(de)
    assert matched(
        rules({"kind": "contact", "field": "city", "operator": "eq", "value": "paris"})
    ) == ids(fr)
    assert matched(rules({"kind": "contact", "field": "email", "operator": "not_exists"})) == ids(
        nowhere
    )
    assert matched(
        rules({"kind": "contact", "field": "locale", "operator": "eq", "value": "de-de"})
    ) == ids(de)
    assert matched(
        rules(
            {
                "kind": "contact",
                "field": "source_channel",
                "operator": "eq",
                "value": "google / cpc",
            }
        )
    ) == ids(nowhere)


def test_contact_dates():
    with time_machine.travel(ago(40), tick=False):
        old = contact(last_seen_at=ago(1))
    with time_machine.travel(ago(3), tick=False):
        new = contact(last_seen_at=None)
    assert matched(
        rules({"kind": "contact", "field": "created_at", "operator": "within_days", "value": 7})
    ) == ids(new)
    assert matched(
        rules(
            {"kind": "contact", "field": "created_at", "operator": "older_than_days", "value": 30}
        )
    ) == ids(old)
    assert matched(
        rules(
            {"kind": "contact", "field": "created_at", "operator": "before", "value": "2025-05-15"}
        )
    ) == ids(old)
    assert matched(
        rules(
            {"kind": "contact", "field": "created_at", "operator": "since", "value": "2025-06-01"}
        )
    ) == ids(new)
    assert matched(
        rules({"kind": "contact", "field": "last_seen_at", "operator": "not_exists"})
    ) == ids(new)
    assert matched(
        rules({"kind": "contact", "field": "last_seen_at", "operator": "within_days", "value": 2})
    ) == ids(old)


def test_contact_properties():
    gold = contact(properties={"plan": "Gold", "size": {"shoe": 42}, "tags": ["vip", "b2b"]})
    silver = contact(properties={"plan": "silver", "size": {"shoe": "38"}})
    bare = contact(properties={})
    assert matched(
        rules({"kind": "property", "key": "plan", "operator": "eq", "value": "gold"})
    ) == ids(gold)
    assert matched(
        rules({"kind": "property", "key": "size.shoe", "operator": "gte", "value": "40"})
    ) == ids(gold)
    assert matched(
        rules({"kind": "property", "key": "size.shoe", "operator": "lt", "value": "40"})
    ) == ids(silver)
    assert matched(
        rules({"kind": "property", "key": "tags", "operator": "contains", "value": "VIP"})
    ) == ids(gold)
    assert matched(rules({"kind": "property", "key": "plan", "operator": "not_exists"})) == ids(
        bare
    )
    assert matched(
        rules({"kind": "property", "key": "plan", "operator": "neq", "value": "gold"})
    ) == ids(silver, bare)


def test_stage_and_score():
    lead = contact(lifecycle_stage="lead", score=10)
    mql = contact(lifecycle_stage="mql", score=55)
    vip = contact(lifecycle_stage="vip", score=80)
    assert matched(rules({"kind": "stage", "operator": "in", "value": ["mql", "vip"]})) == ids(
        mql, vip
    )
    assert matched(rules({"kind": "stage", "operator": "not_in", "value": "mql"})) == ids(lead, vip)
    assert matched(rules({"kind": "score", "operator": "gte", "value": 55})) == ids(mql, vip)
    assert matched(rules({"kind": "score", "operator": "lt", "value": 55})) == ids(lead)
    assert matched(rules({"kind": "score", "operator": "eq", "value": "80"})) == ids(vip)


def test_consent_per_channel():
    granted, denied, unknown, never = contact(), contact(), contact(), contact()
    ConsentFactory(contact=granted, channel="email", status="granted")
    ConsentFactory(contact=denied, channel="email", status="denied")
    ConsentFactory(contact=unknown, channel="email", status="unknown")
    ConsentFactory(contact=never, channel="sms", status="granted")
    assert matched(rules({"kind": "consent", "channel": "email", "status": "granted"})) == ids(
        granted
    )
    assert matched(rules({"kind": "consent", "channel": "email", "status": "denied"})) == ids(
        denied
    )
    assert matched(rules({"kind": "consent", "channel": "email", "status": "none"})) == ids(
        unknown, never
    )
    assert matched(rules({"kind": "consent", "channel": "sms", "status": "granted"})) == ids(never)


def viewed(who: Contact, days_ago: float, **properties: Any) -> None:
    EventFactory(
        contact=who, name="Product Viewed", occurred_at=ago(days_ago), properties=properties
    )


def test_events_count_window_and_property_filters():
    twice_recent, once_recent, twice_old, never = contact(), contact(), contact(), contact()
    viewed(twice_recent, 1, category="shoes")
    viewed(twice_recent, 5, category="shoes")
    viewed(once_recent, 2, category="bags")
    viewed(twice_old, 40)
    viewed(twice_old, 50)
    EventFactory(contact=never, name="Page Viewed", occurred_at=ago(1))

    def event(**extra: Any) -> dict[str, Any]:
        return rules({"kind": "event", "name": "Product Viewed", **extra})

    assert matched(event()) == ids(twice_recent, once_recent, twice_old)
    assert matched(event(count_operator="gte", count=2)) == ids(twice_recent, twice_old)
    assert matched(event(count_operator="gte", count=2, days=30)) == ids(twice_recent)
    assert matched(event(count_operator="eq", count=0, days=30)) == ids(twice_old, never)
    assert matched(event(count_operator="lt", count=2, days=30)) == ids(
        once_recent, twice_old, never
    )
    assert matched(event(count_operator="eq", count=1, days=30)) == ids(once_recent)
    assert matched(event(count_operator="neq", count=2)) == ids(once_recent, never)
    assert matched(event(count_operator="lte", count=1)) == ids(once_recent, never)
    assert matched(
        event(filters=[{"property": "category", "operator": "eq", "value": "SHOES"}], count=2)
    ) == ids(twice_recent)
    assert matched(
        event(filters=[{"property": "category", "operator": "in", "value": "bags, hats"}])
    ) == ids(once_recent)


def paid(
    who: Contact | None, total: str, days_ago: float, status: str = "paid", **fields: Any
) -> Order:
    return OrderFactory(
        contact=who, total=Decimal(total), placed_at=ago(days_ago), status=status, **fields
    )


def test_orders_count_revenue_and_last_order():
    big, small, refunded, nobody = contact(), contact(), contact(), contact()
    paid(big, "300", 10)
    paid(big, "250", 100)
    paid(small, "40", 200)
    paid(refunded, "500", 5, status="refunded")
    paid(refunded, "80", 5, status="partially_refunded", refunded_total=Decimal("30"))
    paid(None, "999", 1)  # a guest order belongs to nobody

    def orders(**c: Any) -> dict[str, Any]:
        return rules({"kind": "orders", **c})

    assert matched(orders(measure="count", operator="gte", value=2)) == ids(big)
    assert matched(orders(measure="count", operator="eq", value=0)) == ids(nobody)
    assert matched(orders(measure="count", operator="lte", value=1)) == ids(small, refunded, nobody)
    assert matched(orders(measure="count", operator="gte", value=1, days=30)) == ids(big, refunded)
    assert matched(orders(measure="revenue", operator="gt", value="500")) == ids(big)
    assert matched(orders(measure="revenue", operator="lt", value="100")) == ids(
        small, refunded, nobody
    )
    assert matched(orders(measure="revenue", operator="eq", value="50")) == ids(
        refunded
    )  # 80 minus 30 refunded
    assert matched(orders(measure="revenue", operator="gte", value="300", days=30)) == ids(big)

    def last(operator: str, value: Any = None) -> dict[str, Any]:
        return rules({"kind": "last_order", "operator": operator, "value": value})

    assert matched(last("within_days", 7)) == ids(refunded)
    assert matched(last("older_than_days", 30)) == ids(small)
    assert matched(last("ever")) == ids(big, small, refunded)
    assert matched(last("never")) == ids(nobody)


def test_bought_product_by_sku_or_name():
    shoe = Product.objects.create(external_id="p-1", sku="SHOE-1", name="Trail shoe")
    runner, hiker, nobody = contact(), contact(), contact()
    order = paid(runner, "120", 3)
    OrderLine.objects.create(order=order, product=shoe, name="Trail shoe (42)", sku="", total=120)
    old = paid(hiker, "30", 90)
    OrderLine.objects.create(order=old, name="Socks", sku="SOCK-9", total=30)
    cancelled = paid(nobody, "120", 1, status="cancelled")
    OrderLine.objects.create(order=cancelled, product=shoe, name="Trail shoe", total=120)

    def bought(value: str, **extra: Any) -> dict[str, Any]:
        return rules({"kind": "bought", "operator": "bought", "value": value, **extra})

    assert matched(bought("shoe-1")) == ids(runner)
    assert matched(bought("trail shoe")) == ids(runner)
    assert matched(bought("SOCK-9, SHOE-1")) == ids(runner, hiker)
    assert matched(bought("sock-9", days=30)) == set()
    assert matched(rules({"kind": "bought", "operator": "not_bought", "value": "SHOE-1"})) == ids(
        hiker, nobody
    )


def test_member_of_a_static_list():
    inside, outside = contact(), contact()
    vip = Segment.objects.create(name="VIP list", kind="static")
    vip.memberships.create(contact=inside, entered_at=NOW)
    vip.memberships.create(contact=outside, entered_at=ago(9), exited_at=ago(1))
    assert matched(rules({"kind": "member", "operator": "in", "segments": [vip.pk]})) == ids(inside)
    assert matched(rules({"kind": "member", "operator": "not_in", "segments": [vip.pk]})) == ids(
        outside
    )


def test_and_or_groups_nest():
    de_viewer = contact(country="DE")
    viewed(de_viewer, 1)
    viewed(de_viewer, 2)
    de_quiet = contact(country="DE", lifecycle_stage="vip")
    fr_viewer = contact(country="FR")
    viewed(fr_viewer, 1)
    viewed(fr_viewer, 2)
    contact(country="US", lifecycle_stage="vip")  # not DE: fails the outer "all"
    tree = {
        "match": "all",
        "conditions": [
            {"kind": "contact", "field": "country", "operator": "eq", "value": "DE"},
            {
                "match": "any",
                "conditions": [
                    {
                        "kind": "event",
                        "name": "Product Viewed",
                        "count_operator": "gte",
                        "count": 2,
                        "days": 30,
                    },
                    {"kind": "stage", "operator": "in", "value": ["vip"]},
                ],
            },
        ],
    }
    assert matched(tree) == ids(de_viewer, de_quiet)
    assert matched({**tree, "match": "any"}) == {
        c.pk for c in Contact.objects.exclude(country="US")
    } | {c.pk for c in Contact.objects.filter(lifecycle_stage="vip")}
    described = rules_describe(rules_clean(tree))
    assert "country is “DE”" in described and " or " in described and "stage is VIP" in described


def test_merged_and_erased_contacts_never_match():
    alive = contact(country="DE")
    gone = contact(country="DE")
    contact(country="DE", merged_into=alive)
    contact(country="DE", erased_at=NOW)
    gone.delete()
    assert matched(
        rules({"kind": "contact", "field": "country", "operator": "eq", "value": "DE"})
    ) == ids(alive)


def test_time_window_rules_are_volatile():
    assert rules_volatile(rules_clean(rules({"kind": "event", "name": "x", "days": 7})))
    assert rules_volatile(
        rules_clean(rules({"kind": "last_order", "operator": "within_days", "value": 7}))
    )
    assert not rules_volatile(rules_clean(rules({"kind": "event", "name": "x"})))
    assert not rules_volatile(rules_clean(rules({"kind": "score", "operator": "gte", "value": 1})))


def test_values_are_bound_never_interpolated():
    evil = "DE'); DROP TABLE leads_contact; --"
    cleaned = rules_clean(
        rules(
            {"kind": "property", "key": "plan", "operator": "eq", "value": evil},
            {
                "kind": "event",
                "name": evil,
                "filters": [{"property": "x", "operator": "contains", "value": evil}],
            },
            {"kind": "bought", "operator": "bought", "value": evil},
        )
    )
    sql = matching_sql(cleaned, Context(now=NOW, scope=Scope.of([1, 2])))
    assert "DROP" not in sql.text
    assert sum(1 for p in sql.params if p == evil or p == [evil] or p == [evil.lower()]) >= 3
    assert matched(cleaned) == set()


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        ({"match": "all", "conditions": []}, "r.conditions", "Add at least one condition."),
        (
            {"match": "most", "conditions": [{"kind": "score", "value": 1}]},
            "r.match",
            "Choose “all” or “any”.",
        ),
        (rules({"kind": "colour"}), "r_0.kind", "Choose what to test"),
        (
            rules({"kind": "contact", "field": "shoe", "operator": "eq", "value": "x"}),
            "r_0.field",
            "Choose a contact field",
        ),
        (
            rules({"kind": "contact", "field": "country", "operator": "eq", "value": ""}),
            "r_0.value",
            "Enter the value",
        ),
        (
            rules(
                {
                    "kind": "contact",
                    "field": "created_at",
                    "operator": "since",
                    "value": "yesterday",
                }
            ),
            "r_0.value",
            "YYYY-MM-DD",
        ),
        (
            rules({"kind": "property", "key": "a..b", "operator": "eq", "value": "x"}),
            "r_0.key",
            "is not a property name",
        ),
        (
            rules({"kind": "property", "key": "size", "operator": "gt", "value": "big"}),
            "r_0.value",
            "is not a number",
        ),
        (
            rules({"kind": "stage", "operator": "in", "value": ["gold"]}),
            "r_0.value",
            "is not a lifecycle stage",
        ),
        (
            rules({"kind": "score", "operator": "gte", "value": "lots"}),
            "r_0.value",
            "Enter a whole number.",
        ),
        (
            rules({"kind": "consent", "channel": "fax", "status": "granted"}),
            "r_0.channel",
            "Choose one of",
        ),
        (rules({"kind": "event", "name": ""}), "r_0.name", "Name the event"),
        (rules({"kind": "event", "name": "x", "days": 0}), "r_0.days", "from 1 to 3650"),
        (rules({"kind": "event", "name": "x", "count": -1}), "r_0.count", "from 0 to"),
        (
            rules(
                {
                    "kind": "event",
                    "name": "x",
                    "filters": [{"property": "p", "operator": "nope", "value": "1"}],
                }
            ),
            "r_0.filters.0.operator",
            "is not an operator",
        ),
        (
            rules({"kind": "orders", "measure": "revenue", "operator": "gte", "value": "1,5"}),
            "r_0.value",
            "Enter an amount",
        ),
        (
            rules({"kind": "bought", "operator": "bought", "value": ""}),
            "r_0.value",
            "SKU or product name",
        ),
        (
            rules({"kind": "member", "operator": "in", "segments": [999999]}),
            "r_0.segments",
            "exist",
        ),
        (
            rules(
                {"kind": "score", "operator": "gte", "value": 1}, {"match": "any", "conditions": []}
            ),
            "r_1.conditions",
            "Add a condition to this group",
        ),
        (
            rules(
                {
                    "match": "any",
                    "conditions": [
                        {"match": "all", "conditions": [{"match": "any", "conditions": []}]}
                    ],
                }
            ),
            "r_0_0_0.match",
            "at most 3 levels",
        ),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(raw, key, message):
    with pytest.raises(ValidationError) as caught:
        rules_clean(raw)
    errors = caught.value.message_dict
    assert key in errors, errors
    assert any(message in text for text in errors[key]), errors[key]
    assert errors_flat(caught.value)  # every problem as one readable line


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValidationError) as caught:
        rules_clean(rules({"kind": "score", "value": "x"}, {"kind": "event", "name": ""}))
    assert set(caught.value.message_dict) == {"r_0.value", "r_1.name"}
    lines = errors_flat(caught.value)
    assert any(line.startswith("Condition 1, value:") for line in lines)
    assert any(line.startswith("Condition 2, name:") for line in lines)
