"""MQL and SQL definitions: what makes a lead marketing- or sales-qualified, evaluated
set-based and explained.

A definition is a list of criteria; a contact qualifies when ANY criterion matches. Each
criterion kind is registered in `CRITERIA` with its validation, its description and its
evaluation: one SQL statement over a pool of contacts (the contacts a batch touched, or
everyone still eligible), returning the contacts that match and the event that made them.

Qualification only moves contacts forward, from subscriber or lead (and MQL, for SQL), and
never on an event older than the contact's last move backwards: a lead that fell back or
that a rep moved back needs new activity to qualify again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from leads.models import Contact, LifecycleStage, QualificationDefinition, StageChange
from leads.services.events import event_record
from leads.services.lifecycle import Moved, StageMove, lifecycle_settings_get, stage_changes_apply
from leads.services.reactions import after_batch, batch_react

logger = logging.getLogger(__name__)
Kind = QualificationDefinition.Kind

PURCHASE_INTENT_EVENT = "Purchase Intent Recorded"
PRODUCT_VIEWED_EVENT = "Product Viewed"
TIME_ON_PAGE_EVENT = "Time on Page"

# MISSION.md's defaults; migration 0007 holds a frozen copy for new databases.
DEFAULT_DEFINITIONS: list[dict[str, Any]] = [
    {
        "kind": "mql",
        "name": gettext_noop("Marketing-qualified lead"),
        "description": gettext_noop(
            "The shop's default: any one of these signals makes a lead an MQL."
        ),
        "criteria": [
            {"kind": "product_views", "min_products": 3, "window_days": 30},
            {
                "kind": "event",
                "events": ["Content Downloaded", "Newsletter Subscribed"],
                "window_days": None,
            },
            {"kind": "time_on_page", "min_seconds": 120, "window_days": None},
            {"kind": "persona", "personas": []},
            {"kind": "score", "min_score": 50},
        ],
    },
    {
        "kind": "sql",
        "name": gettext_noop("Sales-qualified lead"),
        "description": gettext_noop(
            "The shop's default: any one of these signals makes a lead an SQL."
        ),
        "criteria": [
            {"kind": "event", "events": ["Product Added"], "window_days": None},
            {"kind": "event", "events": ["Checkout Started"], "window_days": None},
            {"kind": "event", "events": ["Support Contacted"], "window_days": None},
            {"kind": "event", "events": [PURCHASE_INTENT_EVENT], "window_days": None},
        ],
    },
]

# Which stages each target is reached from, in the order targets are tried: a contact that
# meets both definitions at once goes straight to SQL.
TARGETS: list[tuple[str, tuple[str, ...]]] = [
    (Kind.SQL, (LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD, LifecycleStage.MQL)),
    (Kind.MQL, (LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD)),
]
CHUNK = 5000
MAX_CRITERIA = 20


def definitions_install_defaults() -> None:
    for definition in DEFAULT_DEFINITIONS:
        QualificationDefinition.objects.get_or_create(
            kind=definition["kind"],
            name=definition["name"],
            defaults={
                "description": definition["description"],
                "criteria": definition["criteria"],
            },
        )


# --- Pools: the contacts one evaluation looks at ------------------------------------------


@dataclass(frozen=True)
class Pool:
    """A `pool(contact_id, since)` CTE: the contacts to test and, per contact, the time of
    its last move backwards (NULL when none). Events at or before `since` do not count."""

    cte: str
    params: dict[str, Any]


_SINCE = "(SELECT max(sc.at) FROM leads_stagechange sc WHERE sc.contact_id = c.id AND sc.backward)"


def pool_of(since_by_contact: dict[int, datetime | None]) -> Pool:
    ids = sorted(since_by_contact)
    return Pool(
        "pool AS (SELECT * FROM unnest(%(pool_ids)s::bigint[], %(pool_since)s::timestamptz[])"
        " AS p(contact_id, since))",
        {"pool_ids": ids, "pool_since": [since_by_contact[i] for i in ids]},
    )


def pool_in_stages(stages: Sequence[str]) -> Pool:
    """Every live contact in these stages: for previews."""
    return Pool(
        f"pool AS (SELECT c.id AS contact_id, {_SINCE} AS since FROM leads_contact c"  # noqa: S608
        " WHERE c.lifecycle_stage = ANY(%(pool_stages)s)"
        " AND c.merged_into_id IS NULL AND c.erased_at IS NULL)",
        {"pool_stages": list(stages)},
    )


# A match: the event that made it (when one did) and a short note for "why".
Match = tuple[int | None, str]


def _run(pool: Pool, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {pool.cte} {sql}", {**pool.params, **params})
        return cursor.fetchall()


def _window_start(criterion: dict[str, Any], now: datetime) -> datetime | None:
    days = criterion.get("window_days")
    return now - timedelta(days=days) if days else None


# Events of pool contacts after their `since` and inside the criterion's window.
_POOL_EVENTS = """
    FROM pool p JOIN leads_event e ON e.contact_id = p.contact_id
    WHERE e.occurred_at > COALESCE(p.since, '-infinity'::timestamptz)
      AND e.occurred_at >= COALESCE(%(start)s::timestamptz, '-infinity'::timestamptz)
"""


# --- Criterion kinds ----------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionKind:
    key: str
    label: str | Promise
    help: str | Promise
    params: tuple[str, ...]  # what a criterion of this kind holds besides "kind"
    clean: Callable[[dict[str, Any]], dict[str, Any]]
    describe: Callable[[dict[str, Any]], str]
    evaluate: Callable[[dict[str, Any], Pool, datetime], dict[int, Match]]
    targets: tuple[str, ...] = (Kind.MQL, Kind.SQL)


CRITERIA: dict[str, CriterionKind] = {}


def criterion_register(kind: CriterionKind) -> CriterionKind:
    """Add or replace a criterion kind (personas replace the "persona" evaluator)."""
    CRITERIA[kind.key] = kind
    return kind


def _int(
    criterion: dict[str, Any], name: str, *, low: int, high: int, required: bool = True
) -> int | None:
    value = criterion.get(name)
    if value in (None, ""):
        if required:
            raise ValidationError({name: _("This criterion needs a number here.")})
        return None
    if isinstance(value, bool):
        raise ValidationError({name: _("Enter a whole number.")})
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError({name: _("Enter a whole number.")}) from None
    if number != value and str(number) != str(value).strip():
        raise ValidationError({name: _("Enter a whole number.")})
    if not low <= number <= high:
        raise ValidationError(
            {name: _("Enter a number from %(low)d to %(high)d.") % {"low": low, "high": high}}
        )
    return number


def _window(criterion: dict[str, Any]) -> int | None:
    return _int(criterion, "window_days", low=1, high=3650, required=False)


def _names(criterion: dict[str, Any], name: str, *, required: bool) -> list[str]:
    value = criterion.get(name) or []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError({name: _("Enter names separated by commas.")})
    names = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if required and not names:
        raise ValidationError({name: _("Name at least one event, e.g. Product Added.")})
    if len(names) > 20 or any(len(n) > 200 for n in names):
        raise ValidationError({name: _("At most 20 names of up to 200 characters each.")})
    return names


def _within(criterion: dict[str, Any]) -> str:
    days = criterion.get("window_days")
    return _(" within %(days)d days") % {"days": days} if days else ""


# Product views: distinct products, so one product viewed ten times is one.
def _product_views_clean(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "min_products": _int(c, "min_products", low=1, high=1000),
        "window_days": _window(c),
    }


def _product_views_describe(c: dict[str, Any]) -> str:
    return _("viewed %(n)d or more different products%(within)s") % {
        "n": c["min_products"],
        "within": _within(c),
    }


def _product_views_evaluate(c: dict[str, Any], pool: Pool, now: datetime) -> dict[int, Match]:
    rows = _run(
        pool,
        f"""
        , v AS (
            SELECT e.contact_id, e.id, e.occurred_at,
                   COALESCE(NULLIF(e.properties->>'product_id', ''), NULLIF(e.properties->>'sku', ''),
                            NULLIF(e.properties->>'name', ''), NULLIF(e.properties->>'url', ''))
                       AS product
            {_POOL_EVENTS} AND e.name = %(name)s
        )
        SELECT contact_id, (array_agg(id ORDER BY occurred_at DESC, id DESC))[1],
               count(DISTINCT product)
        FROM v WHERE product IS NOT NULL
        GROUP BY contact_id HAVING count(DISTINCT product) >= %(n)s
        """,  # noqa: S608 (fixed SQL fragments, every value bound)
        {"name": PRODUCT_VIEWED_EVENT, "n": c["min_products"], "start": _window_start(c, now)},
    )
    return {
        cid: (eid, _("viewed %(n)d different products%(within)s") % {"n": n, "within": _within(c)})
        for cid, eid, n in rows
    }


def _event_clean(c: dict[str, Any]) -> dict[str, Any]:
    return {"events": _names(c, "events", required=True), "window_days": _window(c)}


def _event_describe(c: dict[str, Any]) -> str:
    return _("did %(events)s%(within)s") % {
        "events": _(" or ").join(c["events"]),
        "within": _within(c),
    }


def _event_evaluate(c: dict[str, Any], pool: Pool, now: datetime) -> dict[int, Match]:
    rows = _run(
        pool,
        f"""
        SELECT DISTINCT ON (e.contact_id) e.contact_id, e.id, e.name
        {_POOL_EVENTS} AND e.name = ANY(%(names)s)
        ORDER BY e.contact_id, e.occurred_at DESC, e.id DESC
        """,
        {"names": c["events"], "start": _window_start(c, now)},
    )
    return {cid: (eid, name) for cid, eid, name in rows}


# Time on page: the snippet sends "Time on Page" with the new visible `seconds` and the
# page's running `total_seconds`; either reaching the bar counts.
_SECONDS = """GREATEST(
    CASE WHEN e.properties->>'seconds' ~ '^\\d{1,9}(\\.\\d+)?$'
         THEN (e.properties->>'seconds')::numeric END,
    CASE WHEN e.properties->>'total_seconds' ~ '^\\d{1,9}(\\.\\d+)?$'
         THEN (e.properties->>'total_seconds')::numeric END)"""


def _time_on_page_clean(c: dict[str, Any]) -> dict[str, Any]:
    return {"min_seconds": _int(c, "min_seconds", low=1, high=86400), "window_days": _window(c)}


def _time_on_page_describe(c: dict[str, Any]) -> str:
    return _("spent %(s)d seconds or more on a page%(within)s") % {
        "s": c["min_seconds"],
        "within": _within(c),
    }


def _time_on_page_evaluate(c: dict[str, Any], pool: Pool, now: datetime) -> dict[int, Match]:
    rows = _run(
        pool,
        f"""
        SELECT DISTINCT ON (e.contact_id) e.contact_id, e.id, {_SECONDS},
               COALESCE(e.properties->>'url', '')
        {_POOL_EVENTS} AND e.name = %(name)s AND {_SECONDS} >= %(n)s
        ORDER BY e.contact_id, e.occurred_at DESC, e.id DESC
        """,
        {"name": TIME_ON_PAGE_EVENT, "n": c["min_seconds"], "start": _window_start(c, now)},
    )
    return {
        cid: (eid, _("spent %(s)d seconds on %(url)s") % {"s": int(s), "url": url or _("a page")})
        for cid, eid, s, url in rows
    }


def _persona_clean(c: dict[str, Any]) -> dict[str, Any]:
    return {"personas": _names(c, "personas", required=False)}


def _persona_describe(c: dict[str, Any]) -> str:
    if c.get("personas"):
        return _("matches the persona %(names)s") % {"names": _(" or ").join(c["personas"])}
    return _("matches a buyer persona")


def _persona_evaluate(c: dict[str, Any], pool: Pool, now: datetime) -> dict[int, Match]:
    # Until personas exist nobody matches one; the personas module registers its own
    # evaluator under this key (criterion_register), and definitions need no change.
    return {}


# The primary score (Contact.score, kept current by scoring). A contact moved back needs
# an event after that move before its score can qualify it again.
def _score_clean(c: dict[str, Any]) -> dict[str, Any]:
    return {"min_score": _int(c, "min_score", low=-100000, high=100000)}


def _score_describe(c: dict[str, Any]) -> str:
    return _("score %(n)d or more") % {"n": c["min_score"]}


def _score_evaluate(c: dict[str, Any], pool: Pool, now: datetime) -> dict[int, Match]:
    rows = _run(
        pool,
        """
        SELECT c.id, c.score FROM pool p JOIN leads_contact c ON c.id = p.contact_id
        WHERE c.score >= %(n)s
          AND (p.since IS NULL OR EXISTS (
              SELECT 1 FROM leads_event e WHERE e.contact_id = c.id AND e.occurred_at > p.since
          ))
        """,
        {"n": c["min_score"]},
    )
    return {
        cid: (None, _("score %(score)d ≥ %(n)d") % {"score": score, "n": c["min_score"]})
        for cid, score in rows
    }


for _kind in (
    CriterionKind(
        "product_views",
        gettext_lazy("Viewed products"),
        gettext_lazy("Different products viewed (Product Viewed events)."),
        ("min_products", "window_days"),
        _product_views_clean,
        _product_views_describe,
        _product_views_evaluate,
    ),
    CriterionKind(
        "event",
        gettext_lazy("Did an event"),
        gettext_lazy("Any one of the named events, e.g. Content Downloaded, Product Added."),
        ("events", "window_days"),
        _event_clean,
        _event_describe,
        _event_evaluate,
    ),
    CriterionKind(
        "time_on_page",
        gettext_lazy("Time on a page"),
        gettext_lazy("Seconds on one page, as the tracking snippet reports them."),
        ("min_seconds", "window_days"),
        _time_on_page_clean,
        _time_on_page_describe,
        _time_on_page_evaluate,
    ),
    CriterionKind(
        "persona",
        gettext_lazy("Matches a persona"),
        gettext_lazy("Fits a buyer persona (all personas when none is named)."),
        ("personas",),
        _persona_clean,
        _persona_describe,
        _persona_evaluate,
    ),
    CriterionKind(
        "score",
        gettext_lazy("Score"),
        gettext_lazy("The primary lead score reaches this many points."),
        ("min_score",),
        _score_clean,
        _score_describe,
        _score_evaluate,
    ),
):
    criterion_register(_kind)


def criterion_clean(criterion: Any) -> dict[str, Any]:
    """One criterion, validated and normalised; ValidationError keyed by parameter."""
    if not isinstance(criterion, dict):
        raise ValidationError({"kind": _("Each criterion is an object with a kind.")})
    kind = CRITERIA.get(str(criterion.get("kind", "")))
    if kind is None:
        raise ValidationError(
            {"kind": _("Choose one of: %(kinds)s.") % {"kinds": ", ".join(CRITERIA)}}
        )
    return {"kind": kind.key, **kind.clean(criterion)}


def criteria_clean(criteria: Any) -> list[dict[str, Any]]:
    """A whole list, or ValidationError naming each wrong row and field: {"criteria": [...]}."""
    if not isinstance(criteria, list):
        raise ValidationError({"criteria": _("Criteria are a list.")})
    if not criteria:
        raise ValidationError({"criteria": _("Add at least one criterion.")})
    if len(criteria) > MAX_CRITERIA:
        raise ValidationError({"criteria": _("At most %(n)d criteria.") % {"n": MAX_CRITERIA}})
    cleaned: list[dict[str, Any]] = []
    errors: list[str] = []
    for number, criterion in enumerate(criteria, start=1):
        try:
            cleaned.append(criterion_clean(criterion))
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors.extend(
                    _("Criterion %(n)d, %(field)s: %(message)s")
                    % {"n": number, "field": name, "message": message}
                    for message in messages
                )
    if errors:
        raise ValidationError({"criteria": errors})
    return cleaned


def criterion_describe(criterion: dict[str, Any]) -> str:
    kind = CRITERIA.get(criterion.get("kind", ""))
    if kind is None:
        return _("unknown criterion %(kind)r") % {"kind": criterion.get("kind")}
    try:
        return kind.describe(criterion)
    except (KeyError, TypeError):
        return str(kind.label)


def _evaluate_criterion(criterion: dict[str, Any], pool: Pool, now: datetime) -> dict[int, Match]:
    """A stored criterion that no longer validates (edited outside the UI, a kind that
    went away) is skipped and logged, never allowed to stop the evaluation."""
    try:
        clean = criterion_clean(criterion)
    except ValidationError:
        logger.warning("skipping invalid qualification criterion %r", criterion)
        return {}
    return CRITERIA[clean["kind"]].evaluate(clean, pool, now)


# --- Evaluation ---------------------------------------------------------------------------


def _active_definitions() -> dict[str, list[QualificationDefinition]]:
    lifecycle_settings_get()  # installs the defaults on a database that has none
    by_kind: dict[str, list[QualificationDefinition]] = {Kind.MQL: [], Kind.SQL: []}
    for definition in QualificationDefinition.objects.filter(active=True).order_by("pk"):
        by_kind.setdefault(definition.kind, []).append(definition)
    return by_kind


def _eligible(contact_ids: Sequence[int]) -> dict[int, tuple[str, datetime | None]]:
    """(stage, last move backwards) of the given contacts that could still qualify."""
    stages = sorted({stage for _, froms in TARGETS for stage in froms})
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT c.id, c.lifecycle_stage, {_SINCE} FROM leads_contact c
            WHERE c.id = ANY(%s) AND c.lifecycle_stage = ANY(%s)
              AND c.merged_into_id IS NULL AND c.erased_at IS NULL
            """,  # noqa: S608 (fixed SQL fragment, every value bound)
            [list(contact_ids), stages],
        )
        return {cid: (stage, since) for cid, stage, since in cursor.fetchall()}


def _moves(
    definitions: dict[str, list[QualificationDefinition]],
    eligible: dict[int, tuple[str, datetime | None]],
) -> list[StageMove]:
    now = timezone.now()
    moves: list[StageMove] = []
    for target, froms in TARGETS:
        done = {move.contact_id for move in moves}
        candidates = {
            cid: since
            for cid, (stage, since) in eligible.items()
            if stage in froms and cid not in done
        }
        for definition in definitions.get(target, []):
            for criterion in definition.criteria:
                if not candidates:
                    break
                hits = _evaluate_criterion(criterion, pool_of(candidates), now)
                for cid, (event_id, note) in sorted(hits.items()):
                    if cid not in candidates:
                        continue
                    del candidates[cid]
                    moves.append(
                        StageMove(
                            contact_id=cid,
                            from_stage=eligible[cid][0],
                            to_stage=target,
                            cause_kind=StageChange.Cause.DEFINITION,
                            detail=f"{definition.name}: {note}",
                            criterion=str(criterion.get("kind", "")),
                            event_id=event_id,
                            definition_id=definition.pk,
                        )
                    )
    return moves


def qualification_evaluate(*, contact_ids: Sequence[int]) -> list[Moved]:
    """Qualify these contacts by the active definitions, set-based: one query for their
    stages, one per criterion over those still unmatched, one to move them."""
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    definitions = _active_definitions()
    if not any(definitions.values()):
        return []
    eligible = _eligible(ids)
    if not eligible:
        return []
    return stage_changes_apply(moves=_moves(definitions, eligible))


@after_batch(20)
def qualification_react(*, contact_ids: Sequence[int], event_ids: Sequence[int] = ()) -> None:
    """After scores (order 10): the contacts a batch touched qualify as MQL or SQL."""
    qualification_evaluate(contact_ids=contact_ids)


def qualification_evaluate_all(*, chunk: int = CHUNK) -> int:
    """Every contact that could still qualify, in id-ordered chunks, each chunk in its own
    transaction (after a recompute or a definition change). Returns how many moved."""
    stages = sorted({stage for _, froms in TARGETS for stage in froms})
    last, total = 0, 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT id FROM leads_contact
                WHERE id > %s AND lifecycle_stage = ANY(%s)
                  AND merged_into_id IS NULL AND erased_at IS NULL
                ORDER BY id LIMIT %s
                """,
                [last, stages, chunk],
            )
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return total
        with transaction.atomic():
            total += len(qualification_evaluate(contact_ids=ids))
        last = ids[-1]


# --- Preview --------------------------------------------------------------------------------


@dataclass
class Preview:
    kind: str
    count: int = 0
    examples: list[tuple[Contact, str]] = field(default_factory=list)
    per_criterion: list[tuple[str, int]] = field(default_factory=list)  # (description, matches)


def qualification_preview(
    *, kind: str, criteria: list[dict[str, Any]], examples: int = 5
) -> Preview:
    """How many contacts these (valid) criteria would move to `kind` now, with examples.
    Reads only; the same queries as the evaluation, over every eligible contact."""
    froms = dict(TARGETS)[kind]
    pool = pool_in_stages(froms)
    now = timezone.now()
    matched: dict[int, str] = {}
    preview = Preview(kind)
    for criterion in criteria:
        hits = _evaluate_criterion(criterion, pool, now)
        preview.per_criterion.append((criterion_describe(criterion), len(hits)))
        for cid, (_event, note) in hits.items():
            matched.setdefault(cid, note)
    preview.count = len(matched)
    sample = sorted(matched)[:examples]
    contacts = Contact.objects.in_bulk(sample)
    preview.examples = [(contacts[cid], matched[cid]) for cid in sample if cid in contacts]
    return preview


# --- Editing definitions ----------------------------------------------------------------


class DefinitionConflict(Exception):
    """Someone saved the definition since this edit started."""

    def __init__(self, current: QualificationDefinition):
        super().__init__("definition changed meanwhile")
        self.current = current


def qualification_definition_save(
    *,
    definition: QualificationDefinition | None,
    kind: str,
    name: str,
    description: str,
    active: bool,
    criteria: Any,
    version: int | None,
    actor: Any,
) -> QualificationDefinition:
    """Create (definition None) or update a definition. Raises ValidationError naming the
    wrong field, or DefinitionConflict when `version` is no longer the stored one. On
    commit, every eligible contact is evaluated again in a worker."""
    errors: dict[str, Any] = {}
    name = name.strip()
    if kind not in Kind.values:
        errors["kind"] = _("Choose MQL or SQL.")
    if not name:
        errors["name"] = _("Give the definition a name.")
    elif len(name) > 120:
        errors["name"] = _("Keep the name under 120 characters.")
    try:
        cleaned = criteria_clean(criteria)
    except ValidationError as error:
        errors.update(error.message_dict)
    if not errors:
        clash = QualificationDefinition.objects.filter(kind=kind, name__iexact=name)
        if definition is not None:
            clash = clash.exclude(pk=definition.pk)
        if clash.exists():
            errors["name"] = _("Another %(kind)s definition has this name.") % {
                "kind": Kind(kind).label
            }
    if errors:
        raise ValidationError(errors)
    fields = {
        "kind": kind,
        "name": name,
        "description": description.strip(),
        "active": active,
        "criteria": cleaned,
        "updated_by": actor,
    }
    with transaction.atomic():
        if definition is None:
            definition = QualificationDefinition.objects.create(**fields)
        else:
            updated = QualificationDefinition.objects.filter(
                pk=definition.pk, version=version or 0
            ).update(**fields, version=F("version") + 1, updated_at=timezone.now())
            if not updated:
                current = QualificationDefinition.objects.select_related("updated_by").get(
                    pk=definition.pk
                )
                raise DefinitionConflict(current)
            definition.refresh_from_db()
        transaction.on_commit(_enqueue_evaluate_all)
    return definition


def _enqueue_evaluate_all() -> None:
    from leads.tasks import qualification_evaluate_all_task

    try:
        qualification_evaluate_all_task.delay()
    except Exception:  # Redis down: the next batch and the nightly recompute catch up
        logger.warning("could not enqueue the qualification re-evaluation", exc_info=True)


# --- Purchase intent ------------------------------------------------------------------------


def purchase_intent_record(*, contact: Contact, actor: Any, note: str = "") -> int | None:
    """A rep heard purchase intent: an event on the contact (the SQL definition's criterion),
    then the after-batch reactions for this contact, so it qualifies at once."""
    if contact.merged_into_id or contact.erased_at:
        raise ValidationError(_("This contact was merged or erased."))
    note = note.strip()
    if len(note) > 1000:
        raise ValidationError({"note": _("Keep the note under 1000 characters.")})
    with transaction.atomic():
        event_id = event_record(
            contact=contact,
            source=None,
            name=PURCHASE_INTENT_EVENT,
            properties={
                "recorded_by": actor.get_full_name() or actor.get_username(),
                "actor_id": actor.pk,
                **({"note": note} if note else {}),
            },
            occurred_at=timezone.now(),
        )
    batch_react(contact_ids=[contact.pk], event_ids=[event_id] if event_id else [])
    contact.refresh_from_db(fields=["lifecycle_stage", "score"])
    return event_id
