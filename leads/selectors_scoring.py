"""Reads of lead scoring: rule lists, a contact's explanation, the what-if of a rule change,
and the recompute's progress. Each function runs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from leads.models import Contact, ContactScore, ScoreModel, ScoreRecompute, ScoringRule
from leads.services.scoring import (
    _BUCKET,
    RULE_ENTRIES_SQL,
    decay_sql,
    mql_score_threshold,
    scoring_defaults_ensure,
)
from leads.services.scoring_conditions import conditions_sql

COUNT_CAP = 100_000  # rule statistics count this far, then say "more than"
EXPLAIN_ROWS = 50
WHAT_IF_EXAMPLES = 8
WHAT_IF_TIMEOUT_MS = 15_000


def _rows(sql: str, params: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- Models and rules ----------------------------------------------------------------------


def score_models() -> list[ScoreModel]:
    """Every model, primary first; installs the shipped defaults on first use."""
    scoring_defaults_ensure()
    return list(ScoreModel.objects.order_by("-is_primary", "name"))


def rule_counts() -> dict[int, int]:
    """Rules per model."""
    return dict(ScoringRule.objects.values_list("model").annotate(n=Count("id")).order_by())


@dataclass(frozen=True)
class RuleFilters:
    q: str = ""
    kind: str = ""
    state: str = ""  # "active", "inactive", "stale" (waiting for a recompute)


def scoring_rules(*, model: ScoreModel, filters: RuleFilters) -> list[ScoringRule]:
    rules: QuerySet[ScoringRule] = ScoringRule.objects.filter(model=model)
    if filters.q:
        rules = rules.filter(Q(name__icontains=filters.q) | Q(event_name__icontains=filters.q))
    if filters.kind:
        rules = rules.filter(kind=filters.kind)
    if filters.state == "active":
        rules = rules.filter(active=True)
    elif filters.state == "inactive":
        rules = rules.filter(active=False)
    elif filters.state == "stale":
        rules = rules.filter(ledger_stale=True)
    return list(rules.order_by("kind", "-points", "name"))


def event_names_unseen(names: list[str]) -> set[str]:
    """Which of these event names no event has ever had (a rule on them scores nothing:
    a typo, or an event the shop does not send yet). One index probe per name."""
    names = sorted({n for n in names if n})
    if not names:
        return set()
    rows = _rows(
        "SELECT n FROM unnest(%s::text[]) AS n "
        "WHERE NOT EXISTS (SELECT 1 FROM leads_event e WHERE e.name = n)",
        [names],
    )
    return {row[0] for row in rows}


def event_names_known(limit: int = 200) -> list[str]:
    """Distinct event names, for suggestions: a loose index scan over (name, time), so it
    costs one probe per name however many events there are."""
    rows = _rows(
        """
        WITH RECURSIVE names AS (
            (SELECT name FROM leads_event ORDER BY name LIMIT 1)
            UNION ALL
            SELECT (SELECT e.name FROM leads_event e WHERE e.name > names.name ORDER BY e.name LIMIT 1)
            FROM names WHERE names.name IS NOT NULL
        )
        SELECT name FROM names WHERE name IS NOT NULL LIMIT %s
        """,
        [limit],
    )
    return [row[0] for row in rows]


@dataclass(frozen=True)
class RuleStats:
    awards: int
    contacts: int
    capped: bool  # counted to COUNT_CAP and stopped
    last_award: datetime | None


def scoring_rule_stats(*, rule: ScoringRule) -> RuleStats:
    (awards, contacts, last) = _rows(
        f"""
        SELECT count(*), count(DISTINCT contact_id), max(occurred_at) FROM (
            SELECT contact_id, occurred_at FROM leads_scoreentry x WHERE {RULE_ENTRIES_SQL} LIMIT %s
        ) t
        """,  # noqa: S608 (a fixed SQL fragment, every value bound)
        [[rule.pk], [rule.pk], COUNT_CAP + 1],
    )[0]
    return RuleStats(min(awards, COUNT_CAP), contacts, awards > COUNT_CAP, last)


def score_recompute_latest() -> ScoreRecompute | None:
    return (
        ScoreRecompute.objects.filter(status__in=["queued", "running"]).order_by("id").first()
        or ScoreRecompute.objects.order_by("-created_at", "-id").first()
    )


# --- Explanation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Contribution:
    rule_id: int
    rule_name: str
    kind: str
    event_id: int | None
    event_name: str
    occurred_at: datetime
    points: int
    current: float


@dataclass(frozen=True)
class RuleSum:
    rule_id: int
    rule_name: str
    kind: str
    awards: int
    points: int
    current: float


@dataclass
class Explanation:
    model: ScoreModel | None
    at: datetime
    score: ContactScore | None
    behaviour: float = 0.0
    fit: int = 0
    contributions: list[Contribution] = field(default_factory=list)
    by_rule: list[RuleSum] = field(default_factory=list)
    awards: int = 0
    threshold: int = 0
    qualified: Any = None  # the stage change that made the contact an MQL, if any

    @property
    def total(self) -> float:
        return self.behaviour + self.fit

    @property
    def more(self) -> int:
        return max(0, self.awards - len(self.contributions))


def contact_score_explanation(
    *, contact: Contact, model: ScoreModel | None = None, at: datetime | None = None
) -> Explanation:
    """ "Why this score?": every award of the model (primary by default) with its rule, event,
    time, points and value now (decayed), highest first, and the sums per rule. Four queries."""
    at = at or timezone.now()
    model = model or ScoreModel.objects.filter(is_primary=True).first()
    if model is None:
        return Explanation(model=None, at=at, score=None)
    decayed = decay_sql(at="%(at)s", ts="x.occurred_at", hl="%(hl)s")
    value = f"CASE WHEN x.kind = 'behaviour' THEN x.points * {decayed} ELSE x.points END"
    params = {"contact": contact.pk, "model": model.pk, "at": at, "hl": model.half_life_days}
    by_rule = [
        RuleSum(*row)
        for row in _rows(
            f"""
            SELECT x.rule_id, r.name, x.kind, count(*), sum(x.points), sum({value})
            FROM leads_scoreentry x JOIN leads_scoringrule r ON r.id = x.rule_id
            WHERE x.contact_id = %(contact)s AND x.model_id = %(model)s
            GROUP BY x.rule_id, r.name, x.kind
            ORDER BY sum({value}) DESC, r.name
            """,  # noqa: S608 (fixed SQL fragments, every value bound)
            params,
        )
    ]
    contributions = [
        Contribution(*row)
        for row in _rows(
            f"""
            SELECT x.rule_id, r.name, x.kind, x.event_id, coalesce(e.name, ''), x.occurred_at,
                   x.points, {value} AS current
            FROM leads_scoreentry x
            JOIN leads_scoringrule r ON r.id = x.rule_id
            LEFT JOIN leads_event e ON e.id = x.event_id
            WHERE x.contact_id = %(contact)s AND x.model_id = %(model)s
            ORDER BY current DESC, x.occurred_at DESC, x.id
            LIMIT {EXPLAIN_ROWS}
            """,  # noqa: S608 (fixed SQL fragments, every value bound)
            params,
        )
    ]
    explanation = Explanation(
        model=model,
        at=at,
        score=ContactScore.objects.filter(contact=contact, model=model).first(),
        behaviour=sum(r.current for r in by_rule if r.kind == "behaviour"),
        fit=sum(r.points for r in by_rule if r.kind == "fit"),
        contributions=contributions,
        by_rule=by_rule,
        awards=sum(r.awards for r in by_rule),
        threshold=mql_score_threshold(),
    )
    explanation.qualified = _qualifying_change(contact)
    return explanation


def _qualifying_change(contact: Contact) -> Any:
    """The latest move to MQL (the lifecycle part records what caused it)."""
    try:
        from leads.models import StageChange
    except ImportError:  # pragma: no cover - without the lifecycle part
        return None
    return (
        StageChange.objects.filter(contact=contact, to_stage="mql").order_by("-at", "-id").first()
    )


# --- What-if -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhatIfExample:
    contact_id: int
    name: str
    before: int
    after: int


@dataclass(frozen=True)
class WhatIf:
    model: ScoreModel
    primary: bool
    threshold: int
    changed: int
    up: int
    down: int
    cross_up: int  # would reach the MQL threshold
    cross_down: int  # would fall below it
    examples: list[WhatIfExample]
    timed_out: bool = False


def _candidate_contribution(rule: ScoringRule, at: datetime) -> tuple[str, list[Any]]:
    """SQL of (contact_id, value) the rule as edited would give each contact now."""
    if not rule.active:
        return "SELECT NULL::bigint AS contact_id, 0::float8 AS v WHERE false", []
    if rule.kind == ScoringRule.Kind.FIT:
        where = conditions_sql(rule.conditions, kind="fit", alias="c")
        sql = f"SELECT c.id AS contact_id, %s::float8 AS v FROM leads_contact c WHERE c.merged_into_id IS NULL AND c.erased_at IS NULL AND ({where.text})"  # noqa: S608 (fixed SQL fragments, every value bound)
        return sql, [rule.points, *where.params]
    where = conditions_sql(rule.conditions, kind="behaviour", alias="e")
    decayed = decay_sql(at="%s", ts="k.occurred_at", hl="%s")
    cap = rule.cap
    bucket = _BUCKET.format(period="%s", ts="e.occurred_at") if cap is not None else "NULL"
    bucket_params = [rule.limit_period] if cap is not None else []
    return (
        f"""
        SELECT k.contact_id, sum(%s * {decayed})::float8 AS v FROM (
            SELECT e.contact_id, e.occurred_at, row_number() OVER (
                PARTITION BY e.contact_id, {bucket} ORDER BY e.occurred_at, e.id
            ) AS n
            FROM leads_event e WHERE e.name = %s AND ({where.text})
        ) k
        WHERE %s::int IS NULL OR k.n <= %s::int
        GROUP BY k.contact_id
        """,  # noqa: S608 (fixed SQL fragments, every value bound)
        [
            rule.points,
            at,
            rule.model.half_life_days,
            *bucket_params,
            rule.event_name,
            *where.params,
            cap,
            cap,
        ],
    )


def scoring_rule_what_if(
    *, rule: ScoringRule, original: ScoringRule | None, at: datetime | None = None
) -> WhatIf:
    """How saving `rule` (validated, unsaved) instead of `original` (None: a new rule) would
    move the scores of its model now: how many change, how many would cross the MQL
    threshold (primary model), with examples. Computed in SQL, writes nothing; the ledger of
    the original rule stands for its current contribution."""
    at = at or timezone.now()
    model = rule.model
    threshold = mql_score_threshold()
    new_sql, new_params = _candidate_contribution(rule, at)
    decayed = decay_sql(at="%s", ts="x.occurred_at", hl="%s")
    value = f"CASE WHEN x.kind = 'behaviour' THEN x.points * {decayed} ELSE x.points END"
    text = f"""
    WITH new AS ({new_sql}),
    old AS (
        SELECT x.contact_id, sum({value})::float8 AS v
        FROM leads_scoreentry x WHERE {RULE_ENTRIES_SQL} GROUP BY x.contact_id
    ),
    delta AS (
        SELECT coalesce(n.contact_id, o.contact_id) AS contact_id,
               coalesce(n.v, 0) - coalesce(o.v, 0) AS d
        FROM new n FULL JOIN old o ON o.contact_id = n.contact_id
    ),
    moved AS (
        SELECT d.contact_id,
               coalesce(round(cs.total::numeric), 0)::int AS before,
               round((coalesce(cs.total, 0) + d.d)::numeric)::int AS after
        FROM delta d
        LEFT JOIN leads_contactscore cs ON cs.contact_id = d.contact_id AND cs.model_id = %s
        WHERE d.d <> 0
    ),
    changed AS (SELECT * FROM moved WHERE before <> after)
    SELECT
        (SELECT count(*) FROM changed),
        (SELECT count(*) FROM changed WHERE after > before),
        (SELECT count(*) FROM changed WHERE before < %s AND after >= %s),
        (SELECT count(*) FROM changed WHERE before >= %s AND after < %s),
        (SELECT coalesce(json_agg(x), '[]') FROM (
            SELECT ch.contact_id, ch.before, ch.after, c.first_name, c.last_name, c.email
            FROM changed ch JOIN leads_contact c ON c.id = ch.contact_id
            ORDER BY (ch.before < %s) <> (ch.after < %s) DESC, abs(ch.after - ch.before) DESC,
                     ch.contact_id
            LIMIT %s
        ) x)
    """  # noqa: S608 (fixed SQL fragments, every value bound)
    params = [
        *new_params,
        at,
        model.half_life_days,
        [original.pk if original is not None else 0],
        [original.pk if original is not None else 0],
        model.pk,
        threshold,
        threshold,
        threshold,
        threshold,
        threshold,
        threshold,
        WHAT_IF_EXAMPLES,
    ]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # A preview must never hold a page up: give up after a while and say so.
            cursor.execute(
                "SELECT current_setting('statement_timeout'), "
                "set_config('statement_timeout', %s, true)",
                [str(WHAT_IF_TIMEOUT_MS)],
            )
            previous = cursor.fetchone()[0]
            cursor.execute(text, params)
            changed, up, cross_up, cross_down, examples = cursor.fetchone()
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
    except DatabaseError as error:
        if "statement timeout" not in str(error):
            raise
        return WhatIf(model, model.is_primary, threshold, 0, 0, 0, 0, 0, [], timed_out=True)
    return WhatIf(
        model=model,
        primary=model.is_primary,
        threshold=threshold,
        changed=changed,
        up=up,
        down=changed - up,
        cross_up=cross_up if model.is_primary else 0,
        cross_down=cross_down if model.is_primary else 0,
        examples=[
            WhatIfExample(
                contact_id=row["contact_id"],
                name=f"{row['first_name']} {row['last_name']}".strip()
                or row["email"]
                or f"#{row['contact_id']}",
                before=row["before"],
                after=row["after"],
            )
            for row in (examples or [])
        ],
    )
