"""Lead quality fed back to marketing: the reps' verdicts and conversion by source, campaign
and persona, and each scoring rule's observed lift with a suggested point value.

Conversion is read from the stage history: a contact "reached SQL" when it ever moved to SQL
or a later stage (opportunity, any buyer stage), "became a customer" when it ever moved to a
buyer stage. A contact imported straight into such a stage counts from its creation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from leads.models import LeadRating, ScoreModel, ScoringRule
from leads.models.lifecycle import BUYER_STAGES, LifecycleStage
from leads.models.scoring import MAX_POINTS

QUALIFIED = [LifecycleStage.MQL.value, LifecycleStage.SQL.value]
SALES_READY = sorted(
    {LifecycleStage.SQL.value, LifecycleStage.OPPORTUNITY.value} | {s.value for s in BUYER_STAGES}
)
BUYERS = sorted(s.value for s in BUYER_STAGES)
GROUP_ROWS = 50

# A rule's lift is only shown, and points only suggested, with this much evidence.
MIN_CONTACTS = 20  # with the rule and without it
MIN_CONVERSIONS = 5  # in the whole population


def _rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- A lead's verdicts ---------------------------------------------------------------------


def ratings_of(contact_id: int, limit: int = 5) -> list[LeadRating]:
    """The lead's verdicts, newest (the current one) first."""
    return list(
        LeadRating.objects.filter(contact_id=contact_id)
        .select_related("rated_by")
        .order_by("-current", "-rated_at", "-id")[:limit]
    )


# --- Quality and conversion by source, campaign or persona ---------------------------------

DIMENSIONS = {
    "source": "coalesce(nullif(l.source_channel, ''), %(unknown)s)",
    "campaign": "coalesce(nullif(l.first_touch->>'utm_campaign', ''), %(none)s)",
    "persona": "coalesce(ps.name, %(none)s)",
}
# A member of two personas counts for both; the total still counts each lead once.
PERSONA_JOIN = """LEFT JOIN LATERAL (
        SELECT s.name FROM leads_segmentmembership m
        JOIN leads_segment s ON s.id = m.segment_id AND s.kind = 'persona'
        WHERE m.contact_id = l.id AND m.exited_at IS NULL) ps ON true"""
COUNTS = """count(*), count(verdict), count(*) FILTER (WHERE verdict = 'good'),
    count(*) FILTER (WHERE verdict = 'bad'), count(*) FILTER (WHERE to_sql),
    count(*) FILTER (WHERE to_customer),
    mode() WITHIN GROUP (ORDER BY reason) FILTER (WHERE verdict = 'bad')"""


@dataclass(frozen=True)
class QualityRow:
    key: str
    leads: int
    rated: int
    good: int
    bad: int
    reached_sql: int
    customers: int
    top_bad_reason: str

    @property
    def good_share(self) -> float | None:
        return _share(self.good, self.rated)

    @property
    def sql_rate(self) -> float | None:
        return _share(self.reached_sql, self.leads)

    @property
    def customer_rate(self) -> float | None:
        return _share(self.customers, self.leads)

    @property
    def top_bad_reason_label(self) -> str:
        return str(LeadRating.Reason(self.top_bad_reason).label) if self.top_bad_reason else ""


@dataclass(frozen=True)
class QualityTable:
    groups: list[QualityRow]
    total: QualityRow


def quality_by(dimension: str, *, start: datetime, end: datetime) -> QualityTable:
    """Leads that first qualified (MQL or SQL) in [start, end), grouped by `dimension`, with
    the reps' current verdicts and how many went on to SQL and to buying. One query."""
    key = DIMENSIONS[dimension]
    join = PERSONA_JOIN if dimension == "persona" else ""
    sql = f"""
WITH cohort AS (
    SELECT DISTINCT sc.contact_id
    FROM leads_stagechange sc
    WHERE sc.to_stage = ANY(%(qualified)s) AND sc.at >= %(start)s AND sc.at < %(end)s
      AND NOT EXISTS (
          SELECT 1 FROM leads_stagechange e
          WHERE e.contact_id = sc.contact_id AND e.to_stage = ANY(%(qualified)s)
            AND e.at < %(start)s)
),
leads AS (
    SELECT c.id, c.source_channel, c.first_touch, r.verdict, r.reason,
        c.lifecycle_stage = ANY(%(sales)s) OR EXISTS (
            SELECT 1 FROM leads_stagechange s
            WHERE s.contact_id = c.id AND s.to_stage = ANY(%(sales)s)) AS to_sql,
        c.lifecycle_stage = ANY(%(buyers)s) OR EXISTS (
            SELECT 1 FROM leads_stagechange s
            WHERE s.contact_id = c.id AND s.to_stage = ANY(%(buyers)s)) AS to_customer
    FROM cohort
    JOIN leads_contact c ON c.id = cohort.contact_id
    LEFT JOIN leads_leadrating r ON r.contact_id = c.id AND r.current
)
(SELECT {key} AS key, {COUNTS} FROM leads l {join}
 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {GROUP_ROWS})
UNION ALL
(SELECT NULL, {COUNTS} FROM leads)
"""  # noqa: S608 (fixed SQL fragments, every value bound)
    params = {
        "qualified": QUALIFIED,
        "sales": SALES_READY,
        "buyers": BUYERS,
        "start": start,
        "end": end,
        "unknown": _("unknown"),
        "none": _("(none)"),
    }
    groups, total = [], None
    for key, leads, rated, good, bad, reached_sql, customers, reason in _rows(sql, params):
        row = QualityRow(key or "", leads, rated, good, bad, reached_sql, customers, reason or "")
        if key is None:
            total = row
        else:
            groups.append(row)
    assert total is not None  # an aggregate without GROUP BY always returns its row
    groups.sort(key=lambda r: (-r.leads, r.key))
    return QualityTable(groups=groups, total=total)


# --- Each scoring rule's lift, and the points it has earned -------------------------------


@dataclass(frozen=True)
class Outcome:
    """Conversion of the contacts the rule scored before they converted, against the rest."""

    with_rule: int
    with_converted: int
    without_rule: int
    without_converted: int

    @property
    def rate_with(self) -> float | None:
        return _share(self.with_converted, self.with_rule)

    @property
    def rate_without(self) -> float | None:
        return _share(self.without_converted, self.without_rule)

    @property
    def lift(self) -> float | None:
        """How many times likelier to convert a contact the rule scored is."""
        if self.rate_with is None or not self.rate_without:
            return None
        return self.rate_with / self.rate_without

    @property
    def log_odds_ratio(self) -> float:
        """ln of the odds ratio, with half a contact added to each cell so that a rule no
        converted contact triggered still has a finite (strongly negative) value."""
        a, b = self.with_converted + 0.5, self.with_rule - self.with_converted + 0.5
        c, d = self.without_converted + 0.5, self.without_rule - self.without_converted + 0.5
        return math.log((a / b) / (c / d))

    def enough(self, conversions: int) -> bool:
        return (
            self.with_rule >= MIN_CONTACTS
            and self.without_rule >= MIN_CONTACTS
            and conversions >= MIN_CONVERSIONS
        )


@dataclass
class RuleLift:
    rule: ScoringRule
    to_sql: Outcome
    to_customer: Outcome
    enough_data: bool
    suggested_points: int | None = None

    @property
    def suggestion_differs(self) -> bool:
        return self.suggested_points not in (None, 0, self.rule.points)


@dataclass
class LiftReport:
    model: ScoreModel
    contacts: int
    reached_sql: int
    customers: int
    rules: list[RuleLift]
    scale: float | None  # points per unit of log odds ratio behind the suggestions

    @property
    def suggestions(self) -> list[RuleLift]:
        return [lift for lift in self.rules if lift.suggestion_differs]


LIFT_SQL = """
WITH conv AS (
    SELECT s.contact_id,
        min(s.at) FILTER (WHERE s.to_stage = ANY(%(sales)s)) AS sql_at,
        min(s.at) FILTER (WHERE s.to_stage = ANY(%(buyers)s)) AS customer_at
    FROM leads_stagechange s
    WHERE s.to_stage = ANY(%(sales)s)
    GROUP BY s.contact_id
),
pop AS (
    SELECT c.id,
        coalesce(conv.sql_at,
                 CASE WHEN c.lifecycle_stage = ANY(%(sales)s) THEN c.created_at END) AS sql_at,
        coalesce(conv.customer_at,
                 CASE WHEN c.lifecycle_stage = ANY(%(buyers)s) THEN c.created_at END) AS customer_at
    FROM leads_contact c
    LEFT JOIN conv ON conv.contact_id = c.id
    WHERE c.created_at >= %(start)s AND c.created_at < %(end)s AND c.merged_into_id IS NULL
),
hits AS (
    -- When each rule first scored each contact of the population.
    SELECT e.rule_id, e.contact_id, min(e.occurred_at) AS first_at
    FROM leads_scoreentry e
    JOIN pop ON pop.id = e.contact_id
    WHERE e.model_id = %(model)s AND e.rule_id = ANY(%(rules)s)
    GROUP BY e.rule_id, e.contact_id
)
SELECT h.rule_id,
    count(*) FILTER (WHERE p.sql_at IS NULL OR h.first_at <= p.sql_at),
    count(*) FILTER (WHERE h.first_at <= p.sql_at),
    count(*) FILTER (WHERE p.customer_at IS NULL OR h.first_at <= p.customer_at),
    count(*) FILTER (WHERE h.first_at <= p.customer_at)
FROM hits h JOIN pop p ON p.id = h.contact_id
GROUP BY h.rule_id
UNION ALL
SELECT NULL, count(*), count(sql_at), count(*), count(customer_at) FROM pop
"""


def _scale(lifts: list[RuleLift]) -> float | None:
    """Points per unit of log odds ratio, chosen so that the suggestions have the same
    average size as the current points: the model keeps its scale (and the MQL threshold
    its meaning) while the points are shared out by what each rule predicts."""
    known = [(lift.rule.points, lift.to_sql.log_odds_ratio) for lift in lifts if lift.enough_data]
    evidence = sum(abs(x) for _, x in known)
    if not evidence:
        return None
    return sum(abs(p) for p, _ in known) / evidence


def rule_lift(model: ScoreModel, *, start: datetime, end: datetime) -> LiftReport:
    """For each active rule of `model`: contacts created in [start, end) that it scored
    before they reached SQL (or a customer stage) against those it did not, and the points
    the evidence suggests. Two queries."""
    rules = list(model.rules.filter(active=True).order_by("kind", "name"))
    params = {
        "sales": SALES_READY,
        "buyers": BUYERS,
        "start": start,
        "end": end,
        "model": model.pk,
        "rules": [r.pk for r in rules],
    }
    counts = {rule_id: (a, b, c, d) for rule_id, a, b, c, d in _rows(LIFT_SQL, params)}
    contacts, reached_sql, _, customers = counts.pop(None)
    lifts = []
    for rule in rules:
        n_sql, c_sql, n_cust, c_cust = counts.get(rule.pk, (0, 0, 0, 0))
        to_sql = Outcome(n_sql, c_sql, contacts - n_sql, reached_sql - c_sql)
        to_customer = Outcome(n_cust, c_cust, contacts - n_cust, customers - c_cust)
        lifts.append(RuleLift(rule, to_sql, to_customer, to_sql.enough(reached_sql)))
    scale = _scale(lifts)
    if scale is not None:
        for lift in lifts:
            if lift.enough_data:
                points = round(scale * lift.to_sql.log_odds_ratio)
                lift.suggested_points = max(-MAX_POINTS, min(MAX_POINTS, points))
    return LiftReport(model, contacts, reached_sql, customers, lifts, scale)
