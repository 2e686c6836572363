"""The condition language of scoring rules: the SQL that scores millions of rows and the
Python reference must agree on any data (hypothesis), and validation names what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import Contact, Event
from leads.services.scoring_conditions import (
    CONTACT_FIELDS,
    OPERATORS,
    condition_clean,
    condition_matches,
    condition_sql,
    conditions_clean,
)

pytestmark = pytest.mark.django_db

KEYS = ["a", "b", "url", "Price"]
# ASCII only: case-insensitive comparison follows the database's lower(), which agrees
# with Python's on ASCII.
TEXT = st.text(alphabet="aAbB01-9. /xX", max_size=6)
DECIMALS = st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{1,3})?", fullmatch=True)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    TEXT,
    DECIMALS,
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(KEYS), children, max_size=3)
    ),
    max_leaves=6,
)
PROPERTIES = st.dictionaries(st.sampled_from(KEYS), JSON, max_size=4)
PATHS = st.lists(st.sampled_from(KEYS), min_size=1, max_size=2).map(".".join)


def _value(operator: str) -> Any:
    if operator in ("gt", "gte", "lt", "lte"):
        return DECIMALS
    if operator in ("in", "not_in"):
        return st.lists(
            st.one_of(TEXT, DECIMALS, st.sampled_from(["true", "false"])), min_size=1, max_size=3
        )
    if operator in ("exists", "not_exists"):
        return st.none()
    return st.one_of(TEXT, DECIMALS, st.sampled_from(["true", "false", "TRUE"]))


@st.composite
def conditions(draw: Any, kind: str) -> dict[str, Any]:
    operator = draw(st.sampled_from(list(OPERATORS)))
    if kind == "fit":
        prop = draw(
            st.one_of(st.sampled_from(list(CONTACT_FIELDS)), PATHS.map(lambda p: f"properties.{p}"))
        )
    else:
        prop = draw(PATHS)
    raw = {"property": prop, "operator": operator, "value": draw(_value(operator))}
    try:
        return condition_clean(raw, kind=kind)
    except ValidationError:
        # Blank or oversized values are refused by validation; those never reach SQL.
        from hypothesis import reject

        reject()
        raise


def _sql_matches(
    table: str, alias: str, ids: list[int], condition: dict[str, Any], kind: str
) -> set[int]:
    sql = condition_sql(condition, kind=kind, alias=alias)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {alias}.id FROM {table} {alias} WHERE {alias}.id = ANY(%s) AND ({sql.text})",  # noqa: S608
            [ids, *sql.params],
        )
        return {row[0] for row in cursor.fetchall()}


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(properties=st.lists(PROPERTIES, min_size=1, max_size=6), condition=conditions("behaviour"))
def test_behaviour_conditions_sql_equals_python(properties, condition):
    contact = Contact.objects.create()
    with transaction.atomic():
        events = Event.objects.bulk_create(
            [
                Event(contact=contact, name="E", properties=p, occurred_at="2025-01-01T00:00Z")
                for p in properties
            ]
        )
        # Read back what the database stored, as the scoring SQL sees it.
        stored = {e.pk: e.properties for e in Event.objects.filter(pk__in=[e.pk for e in events])}
        got = _sql_matches("leads_event", "e", list(stored), condition, "behaviour")
        expected = {
            pk
            for pk, props in stored.items()
            if condition_matches(condition, kind="behaviour", properties=props)
        }
        transaction.set_rollback(True)
    assert got == expected, (condition, stored)


CONTACT_TEXT = st.one_of(st.just(""), TEXT, DECIMALS)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    people=st.lists(
        st.fixed_dictionaries(
            {
                "country": st.sampled_from(["", "US", "us", "FR", "1"]),
                "company": CONTACT_TEXT,
                "email": st.sampled_from(["", "a@x.com", "b@Rival.COM", "no-at", "a@b@c"]),
                "locale": CONTACT_TEXT,
                "properties": PROPERTIES,
            }
        ),
        min_size=1,
        max_size=5,
    ),
    condition=conditions("fit"),
)
def test_fit_conditions_sql_equals_python(people, condition):
    with transaction.atomic():
        contacts = Contact.objects.bulk_create([Contact(**p) for p in people])
        stored = {c.pk: c for c in Contact.objects.filter(pk__in=[c.pk for c in contacts])}
        got = _sql_matches("leads_contact", "c", list(stored), condition, "fit")
        expected = {
            pk for pk, c in stored.items() if condition_matches(condition, kind="fit", contact=c)
        }
        transaction.set_rollback(True)
    assert got == expected, (
        condition,
        {pk: (c.country, c.company, c.email, c.properties) for pk, c in stored.items()},
    )


@pytest.mark.parametrize(
    ("condition", "properties", "expected"),
    [
        ({"property": "url", "operator": "contains", "value": "/careers"}, {"url": "https://x/Careers/1"}, True),
        ({"property": "price", "operator": "gt", "value": "10"}, {"price": "19.99"}, True),
        ({"property": "price", "operator": "gt", "value": "10"}, {"price": 9}, False),
        ({"property": "price", "operator": "gt", "value": "10"}, {"price": "ten"}, False),
        ({"property": "price", "operator": "eq", "value": "12"}, {"price": 12.0}, True),
        ({"property": "tags", "operator": "contains", "value": "sale"}, {"tags": ["new", "Sale"]}, True),
        ({"property": "type", "operator": "neq", "value": "hard"}, {}, True),
        ({"property": "type", "operator": "eq", "value": "hard"}, {"type": None}, False),
        ({"property": "a.b", "operator": "exists", "value": None}, {"a": {"b": ""}}, False),
        ({"property": "a.b", "operator": "exists", "value": None}, {"a": {"b": 0}}, True),
        ({"property": "ok", "operator": "eq", "value": "TRUE"}, {"ok": True}, True),
    ],
)  # fmt: skip
def test_condition_semantics(condition, properties, expected):
    condition = condition_clean(condition, kind="behaviour")
    assert condition_matches(condition, kind="behaviour", properties=properties) is expected
    contact = Contact.objects.create()
    event = Event.objects.create(
        contact=contact, name="E", properties=properties, occurred_at="2025-01-01T00:00Z"
    )
    assert bool(_sql_matches("leads_event", "e", [event.pk], condition, "behaviour")) is expected


def test_conditions_clean_names_each_bad_condition():
    with pytest.raises(ValidationError) as error:
        conditions_clean(
            [
                {"property": "url", "operator": "contains", "value": "/x"},
                {"property": "", "operator": "eq", "value": "x"},
                {"property": "price", "operator": "lte", "value": "1e5"},
                {"property": "0", "operator": "eq", "value": "x"},
            ],
            kind="behaviour",
        )
    messages = error.value.message_dict["conditions"]
    assert [m.split(":")[0] for m in messages] == [
        "Condition 2, property",
        "Condition 3, value",
        "Condition 4, property",
    ]


def test_list_values_are_split_and_trimmed():
    cleaned = condition_clean(
        {"property": "country", "operator": "in", "value": "US, ca ,,"}, kind="fit"
    )
    assert cleaned["value"] == ["US", "ca"]
