"""Reads for the lifecycle pages and the contact page's stage panel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from leads.models import Contact, LifecycleStage, QualificationDefinition, StageChange
from leads.services.qualification import CRITERIA, criteria_clean, criterion_describe


def stage_latest(*, contact: Contact) -> StageChange | None:
    """The change that put the contact in its stage: the answer to "why this stage?"."""
    return (
        StageChange.objects.filter(contact=contact)
        .select_related("actor", "definition")
        .order_by("-at", "-id")
        .first()
    )


@dataclass(frozen=True)
class DefinitionRow:
    definition: QualificationDefinition
    criteria: list[str]  # described in words
    qualified_30d: int  # contacts it qualified in the last 30 days
    problems: list[str]  # criteria that no longer validate


def definition_rows() -> list[DefinitionRow]:
    """Every definition with what it asks for and how many it qualified lately. Two queries."""
    since = timezone.now() - timedelta(days=30)
    definitions = list(QualificationDefinition.objects.select_related("updated_by"))
    counts = dict(
        StageChange.objects.filter(definition__isnull=False, at__gte=since)
        .values_list("definition")
        .annotate(n=Count("id"))
    )
    return [
        DefinitionRow(
            d,
            [criterion_describe(c) for c in d.criteria],
            counts.get(d.pk, 0),
            criterion_problems(d.criteria),
        )
        for d in definitions
    ]


def criterion_problems(criteria: Any) -> list[str]:
    try:
        criteria_clean(criteria)
    except ValidationError as error:
        return [m for messages in error.message_dict.values() for m in messages]
    return []


def events_never_seen(*, criteria: list[dict[str, Any]]) -> list[str]:
    """Event names the criteria ask for that no event has carried yet: a typo, or a
    renamed event, flagged next to the definition rather than silently matching nobody.
    One index probe per name."""
    names = sorted({n for c in criteria if c.get("kind") == "event" for n in c.get("events", [])})
    if not names:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n FROM unnest(%s::text[]) AS n
            WHERE NOT EXISTS (SELECT 1 FROM leads_event e WHERE e.name = n)
            ORDER BY n
            """,
            [names],
        )
        return [row[0] for row in cursor.fetchall()]


def stage_counts() -> list[tuple[str, str, int]]:
    """(stage, label, live contacts) for every stage, in funnel order."""
    counts = dict(
        Contact.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
        .values_list("lifecycle_stage")
        .annotate(n=Count("id"))
    )
    return [(value, str(label), counts.get(value, 0)) for value, label in LifecycleStage.choices]


def criterion_kinds() -> list[tuple[str, str, str]]:
    return [(k.key, str(k.label), str(k.help)) for k in CRITERIA.values()]
