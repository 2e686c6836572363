"""Buyer personas: named fit profiles in the segment rule language.

A persona is a `Segment` of kind "persona": its rules assign contacts automatically (kept
current like every rule-based segment, before the MQL/SQL definitions run after a batch),
and "why" is answered per contact by evaluating each condition (selectors_segments.
contact_explain). This module fills the two hooks that name personas:

- the "persona" condition of the segment rule language ("is in persona X");
- the "persona" criterion of the MQL definition (leads.services.qualification), which
  reads the current assignments; contacts newly assigned are qualified at once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.dispatch import receiver
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leads import signals
from leads.models import Segment
from leads.services import qualification
from leads.services.scoring_conditions import Sql
from leads.services.segment_rules import (
    MEMBER_OPERATORS,
    ConditionKind,
    Context,
    condition_kind_register,
)

logger = logging.getLogger(__name__)


# --- The "persona" condition of segment rules -------------------------------------------------


def _persona_names(ids: list[int]) -> dict[int, str]:
    return dict(
        Segment.objects.filter(pk__in=ids, kind=Segment.Kind.PERSONA).values_list("pk", "name")
    )


def _clean(c: dict[str, Any]) -> dict[str, Any]:
    extra = set(c) - {"kind", "operator", "personas"}
    if extra:
        key = sorted(extra)[0]
        raise ValidationError({key: _("Unknown parameter “%(key)s”.") % {"key": key}})
    operator = c.get("operator") or "in"
    if operator not in MEMBER_OPERATORS:
        raise ValidationError({"operator": _("Choose “is in” or “is not in”.")})
    raw = c.get("personas")
    items = raw if isinstance(raw, list) else str(raw or "").split(",")
    try:
        ids = sorted({int(str(v).strip()) for v in items if str(v).strip()})
    except ValueError:
        raise ValidationError({"personas": _("Choose personas from the list.")}) from None
    if not ids:
        raise ValidationError({"personas": _("Choose at least one persona.")})
    if len(_persona_names(ids)) != len(ids):
        raise ValidationError({"personas": _("Choose personas that exist (one was deleted?).")})
    return {"operator": operator, "personas": ids}


def _describe(c: dict[str, Any]) -> str:
    names = _persona_names(c["personas"])
    listed = _(" or ").join(
        f"“{names.get(i, _('deleted persona #%(id)s') % {'id': i})}”" for i in c["personas"]
    )
    if c["operator"] == "in":
        return _("fits the persona %(names)s") % {"names": listed}
    return _("fits none of the personas %(names)s") % {"names": listed}


def _compile(c: dict[str, Any], ctx: Context) -> Sql:
    sql = Sql(
        "EXISTS (SELECT 1 FROM leads_segmentmembership pm WHERE pm.contact_id = c.id "
        "AND pm.segment_id = ANY(%s::bigint[]) AND pm.exited_at IS NULL)",
        [c["personas"]],
    )
    return sql if c["operator"] == "in" else Sql(f"NOT {sql.text}", sql.params)


condition_kind_register(
    ConditionKind(
        "persona",
        gettext_lazy("Buyer persona"),
        gettext_lazy("Fits (or does not fit) a buyer persona."),
        ("operator", "personas"),
        _clean,
        _describe,
        _compile,
        for_personas=False,  # personas are evaluated first: they cannot depend on each other
    )
)


# --- The "persona" criterion of the MQL definition ----------------------------------------------


def _criterion_evaluate(
    c: dict[str, Any], pool: qualification.Pool, now: datetime
) -> dict[int, qualification.Match]:
    """Pool contacts currently assigned to one of the named personas (any persona when the
    criterion names none). Names compare case-insensitively."""
    names = [n.lower() for n in c.get("personas") or []]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH {pool.cte}
            SELECT DISTINCT ON (m.contact_id) m.contact_id, s.name
            FROM pool p
            JOIN leads_segmentmembership m ON m.contact_id = p.contact_id AND m.exited_at IS NULL
            JOIN leads_segment s ON s.id = m.segment_id AND s.kind = 'persona'
            WHERE (cardinality(%(persona_names)s::text[]) = 0
                   OR lower(s.name) = ANY(%(persona_names)s::text[]))
            ORDER BY m.contact_id, m.entered_at, s.id
            """,  # noqa: S608 (the pool's fixed CTE; values bound)
            {**pool.params, "persona_names": names},
        )
        rows = cursor.fetchall()
    return {cid: (None, _("fits the persona “%(name)s”") % {"name": name}) for cid, name in rows}


_existing = qualification.CRITERIA.get("persona")
if _existing is not None:
    qualification.criterion_register(
        qualification.CriterionKind(
            _existing.key,
            _existing.label,
            _existing.help,
            _existing.params,
            _existing.clean,
            _existing.describe,
            _criterion_evaluate,
            _existing.targets,
        )
    )


@receiver(signals.segment_entered, dispatch_uid="personas_qualify_on_entry")
def personas_qualify_on_entry(
    sender: Any, segment_id: int, contact_ids: list[int], **kwargs: Any
) -> None:
    """Contacts just assigned to a persona may now meet an MQL definition that counts
    persona matches (a persona computed or edited in a worker, or assigned after a batch)."""
    if not Segment.objects.filter(pk=segment_id, kind=Segment.Kind.PERSONA).exists():
        return
    try:
        for start in range(0, len(contact_ids), 5000):
            qualification.qualification_evaluate(contact_ids=contact_ids[start : start + 5000])
    except DatabaseError:  # the next batch or the nightly evaluation catches up
        logger.exception("qualifying new members of persona %s failed", segment_id)
