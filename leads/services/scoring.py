"""Lead scoring: the ledger of points, incremental after every batch and as a full recompute.

How a score comes about:

1. **Ledger.** Behaviour rules award points per event (`ScoreEntry` with the event id, unique
   per rule and event, so reprocessing never double-counts); a limit "at most N points per
   day / week / month" counts whole awards per calendar period in UTC, earliest events
   first. Fit rules award points once per contact while the contact matches.
2. **Totals.** A contact's score in a model is its behaviour points, each decayed with the
   model's half-life (value = points * 0.5^(age in days / half-life)), plus its fit points.
   `Contact.score` is the primary model's total rounded half away from zero.

Everything is set-based SQL: after each ingest batch (`score_batch`, registered with
`after_batch`) for just the events and contacts of the batch; and in a full recompute
(`score_recompute_process`, in a worker) over every contact, range by range, resumable:

- ledger: the rules changed since their ledger was built (`ledger_stale`) lose their entries
  and get them back range of event ids by range, exactly as the incremental path awards
  them (same statement), so a rebuild equals what arrival order would have given;
- fit: every contact's fit entries checked against the fit rules, range of contact ids by
  range (at night only contacts saved since the last run);
- stage: one aggregate of the whole ledger into `leads_scorestage`;
- apply: `ContactScore` and `Contact.score` written from it, range of contact ids by range.

Each range is one transaction that also records the progress, so a recompute killed halfway
carries on from its last committed range; every step is idempotent.

Concurrency: the incremental step takes a shared advisory lock and locks the touched
contacts' primary `ContactScore` rows in id order (so two workers scoring one contact
serialise, and limits hold); each range of a recompute takes the lock exclusively. Totals
carry `computed_at`: the recompute never overwrites a total computed after its own time by
the incremental path meanwhile. Stale rules are left to the rebuild, except for events the
rebuild has already gone past (they committed late), which the incremental step scores.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from growth.edits import EditConflict
from leads.models import (
    ContactScore,
    Event,
    ScoreModel,
    ScoreRecompute,
    ScoringRule,
)
from leads.models.scoring import MAX_POINTS
from leads.services.reactions import after_batch
from leads.services.scoring_conditions import Sql, conditions_clean, conditions_sql

logger = logging.getLogger(__name__)

# Advisory lock keys (pg_advisory_*): scoring writes, and the one recompute runner.
SCORING_LOCK = 0x5C0E_0001
RUNNER_LOCK = 0x5C0E_0002

EVENT_STEP = 500_000  # events per ledger range of a recompute
CONTACT_STEP = 50_000  # contacts per range of a recompute
TIME_BUDGET_SECONDS = 180.0  # then the task hands over to a fresh one (Celery time limits)
STALE_AFTER = timedelta(minutes=10)  # a running recompute without progress this long is stuck
# The nightly fit pass re-checks contacts saved since the last recompute began, less this.
FIT_RECHECK_MARGIN = timedelta(minutes=5)
# Memory for the recompute's sorts and hashes (a batch job, one at a time).
RECOMPUTE_WORK_MEM = "64MB"
DEFAULT_MQL_THRESHOLD = 50
LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)  # "never computed": any real computation is newer

# Decay of one behaviour entry, in SQL: {at} the time scores are computed for, {ts} the
# entry's time, {hl} the half-life in days. Ages are clamped at 0 (clock skew) and the
# exponent at 1000 (PostgreSQL raises on float underflow; 0.5^1000 is 0 for every purpose).
DECAY_SQL = (
    "power(0.5::float8, least(greatest(date_part('epoch', {at} - {ts}), 0) "
    "/ (86400.0 * {hl}), 1000.0))"
)


def decay_sql(*, at: str, ts: str, hl: str) -> str:
    return DECAY_SQL.format(at=at, ts=ts, hl=hl)


def decay(points: float, age_seconds: float, half_life_days: float) -> float:
    """The same arithmetic in Python (tests, explanations of single values)."""
    exponent = min(max(age_seconds, 0.0) / (86400.0 * half_life_days), 1000.0)
    return points * 0.5**exponent


# --- Defaults ------------------------------------------------------------------------------

# The shipped "Shop" model (MISSION.md, seed 000). Kept in step with the frozen copy in
# migration 0008 by tests/leads/test_scoring.py.
DEFAULT_MODEL = {
    "name": gettext_noop("Shop"),
    "description": gettext_noop(
        "The shop's default lead score: what visitors do, and who they are."
    ),
    "half_life_days": 30,
}
TARGET_COUNTRIES = ["US", "CA", "GB", "DE", "FR", "NL", "AU"]
COMPETITOR_DOMAINS = ["competitor.com", "rivalshop.com"]
DEFAULT_RULES: list[dict[str, Any]] = [
    {"name": gettext_noop("Product viewed"),
     "kind": "behaviour", "event_name": "Product Viewed", "points": 2,
     "limit_points": 10, "limit_period": "week"},
    {"name": gettext_noop("Product added to cart"),
     "kind": "behaviour", "event_name": "Product Added",
     "points": 10},
    {"name": gettext_noop("Checkout started"),
     "kind": "behaviour", "event_name": "Checkout Started",
     "points": 15},
    {"name": gettext_noop("Content downloaded"),
     "kind": "behaviour", "event_name": "Content Downloaded",
     "points": 10},
    {"name": gettext_noop("Newsletter subscribed"),
     "kind": "behaviour", "event_name": "Newsletter Subscribed",
     "points": 5},
    {"name": gettext_noop("Page viewed"),
     "kind": "behaviour", "event_name": "Page Viewed", "points": 1,
     "limit_points": 5, "limit_period": "day"},
    {"name": gettext_noop("Support contacted"),
     "kind": "behaviour", "event_name": "Support Contacted",
     "points": 5},
    {"name": gettext_noop("Unsubscribed"),
     "kind": "behaviour", "event_name": "Unsubscribed", "points": -20},
    {"name": gettext_noop("Hard bounce"),
     "kind": "behaviour", "event_name": "Email Bounced", "points": -30,
     "conditions": [{"property": "type", "operator": "eq", "value": "hard"}]},
    {"name": gettext_noop("Careers page viewed"),
     "kind": "behaviour", "event_name": "Page Viewed",
     "points": -15, "conditions": [{"property": "url", "operator": "contains",
                                    "value": "/careers"}]},
    {"name": gettext_noop("Competitor e-mail domain"),
     "kind": "fit", "points": -50,
     "conditions": [{"property": "email_domain", "operator": "in",
                     "value": COMPETITOR_DOMAINS}]},
    {"name": gettext_noop("Target country"),
     "kind": "fit", "points": 5,
     "conditions": [{"property": "country", "operator": "in", "value": TARGET_COUNTRIES}]},
    {"name": gettext_noop("Has a company"),
     "kind": "fit", "points": 3,
     "conditions": [{"property": "company", "operator": "exists", "value": None}]},
]  # fmt: skip


def scoring_defaults_install(score_model_cls: Any, rule_cls: Any, *, stale: bool) -> None:
    """Create the default model and rules unless any score model exists. Takes the model
    classes so migration 0008 can run it with its historical models."""
    if score_model_cls.objects.exists():
        return
    model = score_model_cls.objects.create(is_primary=True, active=True, **DEFAULT_MODEL)
    for rule in DEFAULT_RULES:
        rule_cls.objects.create(
            model=model,
            name=rule["name"],
            kind=rule["kind"],
            points=rule["points"],
            event_name=rule.get("event_name", ""),
            conditions=rule.get("conditions", []),
            limit_points=rule.get("limit_points"),
            limit_period=rule.get("limit_period", ""),
            ledger_stale=stale,
        )


def scoring_defaults_ensure() -> None:
    """First use on a database without any score model (a fresh or emptied one): install the
    defaults. With events already there their ledger must be built, so a recompute is queued."""
    if ScoreModel.objects.exists():
        return
    with transaction.atomic():
        _lock_scoring(exclusive=True)
        stale = Event.objects.exists()
        scoring_defaults_install(ScoreModel, ScoringRule, stale=stale)
    if stale:
        score_recompute_request(kind=ScoreRecompute.Kind.RULES)


# --- Rules as the SQL needs them -------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    id: int
    model_id: int
    kind: str
    points: int
    event_name: str
    conditions: list[dict[str, Any]]
    cap: int | None
    period: str
    version: int


def _specs(rules: Iterable[ScoringRule]) -> list[RuleSpec]:
    return [
        RuleSpec(
            id=r.pk,
            model_id=r.model_id,
            kind=r.kind,
            points=r.points,
            event_name=r.event_name,
            conditions=list(r.conditions or []),
            cap=r.cap,
            period=r.limit_period,
            version=r.version,
        )
        for r in rules
    ]


def _active_rules(
    *, kind: str, include_stale: bool, ids: Iterable[int] | None = None
) -> list[RuleSpec]:
    rules = ScoringRule.objects.filter(kind=kind, active=True, model__active=True)
    if not include_stale:
        rules = rules.filter(ledger_stale=False)
    if ids is not None:
        rules = rules.filter(pk__in=list(ids))
    return _specs(rules.order_by("pk"))


def _primary_model_id() -> int | None:
    return ScoreModel.objects.filter(is_primary=True).values_list("pk", flat=True).first()


def _lock_scoring(*, exclusive: bool) -> None:
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {fn}(%s)", [SCORING_LOCK])


def _execute(sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


# --- Behaviour entries ---------------------------------------------------------------------

# A rule's entries, written so the partial unique indexes answer: (rule, event) for
# behaviour entries, (contact, rule) for fit ones.
RULE_ENTRIES_SQL = (
    "((x.rule_id = ANY(%s::bigint[]) AND x.event_id IS NOT NULL) "
    "OR (x.kind = 'fit' AND x.rule_id = ANY(%s::bigint[])))"
)


def _behaviour_candidates(rules: Sequence[RuleSpec], event_filter: Sql) -> Sql:
    """Events (restricted by `event_filter` over alias e) each rule matches, one row per
    (rule, event): rule_id, event_id, contact_id, occurred_at. One pass over the events,
    joined to the rules by name; each rule's conditions apply to its own rows."""
    cases, case_params = [], []
    for rule in rules:
        if rule.conditions:
            where = conditions_sql(rule.conditions, kind="behaviour", alias="e")
            cases.append(f"WHEN %s THEN ({where.text})")
            case_params += [rule.id, *where.params]
    conditions = f"CASE r.rule_id {' '.join(cases)} ELSE true END" if cases else "true"
    text = f"""
        SELECT r.rule_id, e.id AS event_id, e.contact_id, e.occurred_at FROM leads_event e
        JOIN unnest(%s::bigint[], %s::text[]) AS r(rule_id, event_name) ON r.event_name = e.name
        WHERE ({event_filter.text}) AND ({conditions})
    """  # noqa: S608 (fixed SQL fragments, every value bound)
    params = [[r.id for r in rules], [r.event_name for r in rules], *event_filter.params]
    return Sql(text, [*params, *case_params])


def _rule_table(rules: Sequence[RuleSpec]) -> Sql:
    return Sql(
        "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::int[], %s::text[]) "
        "AS r(rule_id, model_id, points, cap, period)",
        [
            [r.id for r in rules],
            [r.model_id for r in rules],
            [r.points for r in rules],
            [r.cap for r in rules],
            [r.period or None for r in rules],
        ],
    )


# A period bucket, and the end of it, computed the same way everywhere (UTC calendar).
_BUCKET = "date_trunc({period}, {ts}, 'UTC')"
_BUCKET_END = "((({bucket}) AT TIME ZONE 'UTC') + ('1 ' || {period})::interval) AT TIME ZONE 'UTC'"


def _behaviour_insert(
    rules: Sequence[RuleSpec], event_filter: Sql, at: datetime, *, fresh_only: bool = False
) -> Sql:
    """INSERT … SELECT of the entries `rules` award for the filtered events, limits
    respected: per (rule, contact, period) at most `cap` awards, counting those already in
    the ledger, earliest events first. Returns the contact ids that gained entries.

    `fresh_only`: none of these events has an entry of these rules yet (a rebuild's range
    after the rules' entries were cleared), so the per-event check is skipped."""
    candidates = _behaviour_candidates(rules, event_filter)
    table = _rule_table(rules)
    bucket = _BUCKET.format(period="r.period", ts="c.occurred_at")
    bucket_end = _BUCKET_END.format(bucket="g.bucket", period="g.period")
    text = f"""
WITH cand AS ({candidates.text}),
rules AS ({table.text}),
fresh AS (
    SELECT c.rule_id, c.event_id, c.contact_id, c.occurred_at, r.model_id, r.points, r.cap,
           r.period, CASE WHEN r.cap IS NULL THEN NULL ELSE {bucket} END AS bucket
    FROM cand c JOIN rules r USING (rule_id)
    WHERE {"true" if fresh_only else "NOT EXISTS (SELECT 1 FROM leads_scoreentry x WHERE x.rule_id = c.rule_id AND x.event_id = c.event_id)"}
),
capped AS (
    SELECT f.*, row_number() OVER (
        PARTITION BY f.rule_id, f.contact_id, f.bucket ORDER BY f.occurred_at, f.event_id
    ) AS n
    FROM fresh f WHERE f.cap IS NOT NULL
),
used AS (
    -- Awards already in each period: one probe of (contact, rule, time) per period, never
    -- a pass over the whole ledger.
    SELECT g.rule_id, g.contact_id, g.bucket, u.n
    FROM (SELECT DISTINCT rule_id, contact_id, bucket, period FROM capped) g
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM leads_scoreentry x
        WHERE x.contact_id = g.contact_id AND x.rule_id = g.rule_id
          AND x.occurred_at >= g.bucket AND x.occurred_at < {bucket_end}
    ) u
    WHERE u.n > 0
),
awarded AS (
    SELECT contact_id, model_id, rule_id, event_id, points, occurred_at FROM fresh
    WHERE cap IS NULL
    UNION ALL
    SELECT k.contact_id, k.model_id, k.rule_id, k.event_id, k.points, k.occurred_at
    FROM capped k LEFT JOIN used u USING (rule_id, contact_id, bucket)
    WHERE k.n + coalesce(u.n, 0) <= k.cap
)
INSERT INTO leads_scoreentry
    (contact_id, model_id, rule_id, kind, event_id, points, occurred_at, created_at)
SELECT contact_id, model_id, rule_id, 'behaviour', event_id, points, occurred_at, %s
FROM awarded
ORDER BY contact_id
{"" if fresh_only else "ON CONFLICT (rule_id, event_id) WHERE event_id IS NOT NULL DO NOTHING"}
RETURNING contact_id
"""  # noqa: S608
    return Sql(text, [*candidates.params, *table.params, at])


def _run_rules(rules: Sequence[RuleSpec], build: Any, *, what: str) -> set[int]:
    """Run the statement for all rules at once; if it fails (a rule the database cannot
    evaluate), run rule by rule so one bad rule does not stop the others."""
    if not rules:
        return set()
    try:
        with transaction.atomic():
            sql = build(rules)
            return {row[0] for row in _execute(sql.text, sql.params)}
    except DatabaseError:
        logger.warning(
            "scoring %s failed for all rules; retrying rule by rule", what, exc_info=True
        )
    contacts: set[int] = set()
    for rule in rules:
        try:
            with transaction.atomic():
                sql = build([rule])
                contacts |= {row[0] for row in _execute(sql.text, sql.params)}
        except DatabaseError:
            logger.exception("scoring rule %s (%s) cannot be evaluated; skipped", rule.id, what)
    return contacts


def _award_behaviour(
    rules: Sequence[RuleSpec], event_filter: Sql, at: datetime, *, fresh_only: bool = False
) -> set[int]:
    return _run_rules(
        [r for r in rules if r.kind == ScoringRule.Kind.BEHAVIOUR],
        lambda chosen: _behaviour_insert(chosen, event_filter, at, fresh_only=fresh_only),
        what="behaviour entries",
    )


# --- Fit entries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Contacts:
    """A set of contacts for SQL: given ids, or the id range lo < id ≤ hi."""

    ids: Sequence[int] | None = None
    lo: int = 0
    hi: int = 0

    def where(self, column: str) -> Sql:
        if self.ids is not None:
            return Sql(f"{column} = ANY(%s::bigint[])", [list(self.ids)])
        return Sql(f"{column} > %s AND {column} <= %s", [self.lo, self.hi])


def _fit_sync(
    rules: Sequence[RuleSpec], contacts: Contacts, at: datetime, since: datetime | None = None
) -> set[int]:
    """Make the fit entries of these contacts exactly what `rules` say: add matches, update
    changed points, remove entries of rules that no longer match or are no longer active.
    Merged and erased contacts match nothing. With `since`, only contacts saved since then
    (their profile may have changed). Returns the contacts whose entries changed."""
    fit_rules = [r for r in rules if r.kind == ScoringRule.Kind.FIT]
    in_contacts, in_ledger = contacts.where("c.id"), contacts.where("x.contact_id")
    chosen = f"SELECT c.id FROM leads_contact c WHERE ({in_contacts.text})"  # noqa: S608
    chosen_params = list(in_contacts.params)
    if since is not None:
        chosen += " AND c.updated_at >= %s"
        chosen_params.append(since)
    parts, params = [], []
    for rule in fit_rules:
        where = conditions_sql(rule.conditions, kind="fit", alias="c")
        # The contacts' own filter again, so the scan is of the range, not of every contact.
        parts.append(
            f"SELECT %s::bigint AS rule_id, c.id AS contact_id FROM leads_contact c JOIN chosen USING (id) WHERE ({in_contacts.text}) AND c.merged_into_id IS NULL AND c.erased_at IS NULL AND ({where.text})"  # noqa: S608
        )
        params += [rule.id, *in_contacts.params, *where.params]
    matches = "\nUNION ALL\n".join(parts) or (
        "SELECT NULL::bigint AS rule_id, NULL::bigint AS contact_id WHERE false"
    )
    table = _rule_table(fit_rules)
    # Plain UPDATE / DELETE / INSERT rather than an upsert: an upsert locks (writes) every
    # existing entry it meets, and most fit entries are unchanged on most runs.
    text = f"""
WITH chosen AS MATERIALIZED ({chosen}),
m AS MATERIALIZED ({matches}),
rules AS ({table.text}),
cur AS MATERIALIZED (
    SELECT x.id, x.rule_id, x.contact_id, x.points, x.model_id FROM leads_scoreentry x
    WHERE x.kind = 'fit' AND ({in_ledger.text}) AND x.contact_id IN (SELECT id FROM chosen)
),
gone AS (
    DELETE FROM leads_scoreentry x USING cur
    WHERE x.id = cur.id
      AND NOT EXISTS (SELECT 1 FROM m WHERE m.rule_id = cur.rule_id AND m.contact_id = cur.contact_id)
    RETURNING x.contact_id
),
changed AS (
    UPDATE leads_scoreentry x SET points = r.points, model_id = r.model_id
    FROM cur JOIN m USING (rule_id, contact_id) JOIN rules r USING (rule_id)
    WHERE x.id = cur.id AND (cur.points <> r.points OR cur.model_id <> r.model_id)
    RETURNING x.contact_id
),
added AS (
    INSERT INTO leads_scoreentry
        (contact_id, model_id, rule_id, kind, event_id, points, occurred_at, created_at)
    SELECT m.contact_id, r.model_id, m.rule_id, 'fit', NULL, r.points, %s, %s
    FROM m JOIN rules r USING (rule_id)
    WHERE NOT EXISTS (
        SELECT 1 FROM cur WHERE cur.rule_id = m.rule_id AND cur.contact_id = m.contact_id
    )
    ORDER BY m.contact_id
    ON CONFLICT (contact_id, rule_id) WHERE kind = 'fit' DO NOTHING
    RETURNING contact_id
)
SELECT contact_id FROM gone UNION SELECT contact_id FROM changed UNION SELECT contact_id FROM added
"""  # noqa: S608
    # Parameters in text order: chosen, m, rules, cur, the INSERT's times.
    all_params = [*chosen_params, *params, *table.params, *in_ledger.params, at, at]
    return {row[0] for row in _execute(text, all_params)}


# --- Totals --------------------------------------------------------------------------------


def _contacts_totals(contact_ids: Sequence[int], at: datetime, primary_id: int | None) -> int:
    """Recompute ContactScore of every active model and Contact.score for these contacts
    from the ledger. Returns how many contacts' score changed."""
    if not contact_ids:
        return 0
    decayed = decay_sql(at="%(at)s", ts="x.occurred_at", hl="m.half_life_days")
    text = f"""
WITH ids AS (SELECT DISTINCT unnest(%(ids)s::bigint[]) AS id),
n AS (
    SELECT x.contact_id, x.model_id,
           coalesce(sum(x.points * {decayed}) FILTER (WHERE x.kind = 'behaviour'), 0) AS behaviour,
           coalesce(sum(x.points) FILTER (WHERE x.kind = 'fit'), 0)::int AS fit
    FROM leads_scoreentry x JOIN leads_scoremodel m ON m.id = x.model_id AND m.active
    WHERE x.contact_id = ANY(%(ids)s::bigint[])
    GROUP BY x.contact_id, x.model_id
),
up AS (
    INSERT INTO leads_contactscore AS cs (contact_id, model_id, behaviour, fit, total, computed_at)
    SELECT contact_id, model_id, behaviour, fit, behaviour + fit, %(at)s FROM n
    ON CONFLICT (contact_id, model_id) DO UPDATE
    SET behaviour = EXCLUDED.behaviour, fit = EXCLUDED.fit, total = EXCLUDED.total,
        computed_at = EXCLUDED.computed_at
),
cleared AS (
    UPDATE leads_contactscore cs SET behaviour = 0, fit = 0, total = 0, computed_at = %(at)s
    WHERE cs.contact_id = ANY(%(ids)s::bigint[])
      AND NOT EXISTS (SELECT 1 FROM n WHERE n.contact_id = cs.contact_id AND n.model_id = cs.model_id)
)
UPDATE leads_contact c SET score = t.score
FROM (
    SELECT ids.id, coalesce(round((n.behaviour + n.fit)::numeric), 0)::int AS score
    FROM ids LEFT JOIN n ON n.contact_id = ids.id AND n.model_id = %(primary)s
) t
WHERE c.id = t.id AND c.score <> t.score
"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(text, {"ids": list(contact_ids), "at": at, "primary": primary_id})
        return cursor.rowcount


def _lock_contacts(contact_ids: Sequence[int], primary_id: int | None) -> None:
    """Serialise scoring per contact: lock its primary ContactScore row (created if need
    be), in id order so two workers never deadlock."""
    if primary_id is None or not contact_ids:
        return
    ids = sorted(set(contact_ids))
    _execute(
        """
        INSERT INTO leads_contactscore (contact_id, model_id, behaviour, fit, total, computed_at)
        SELECT c.id, %s, 0, 0, 0, %s FROM leads_contact c WHERE c.id = ANY(%s::bigint[])
        ORDER BY c.id
        ON CONFLICT (contact_id, model_id) DO NOTHING
        """,
        [primary_id, LONG_AGO, ids],
    )
    _execute(
        "SELECT 1 FROM leads_contactscore WHERE model_id = %s AND contact_id = ANY(%s::bigint[]) "
        "ORDER BY contact_id FOR UPDATE",
        [primary_id, ids],
    )


# --- Incremental ---------------------------------------------------------------------------


def scoring_apply(
    *, contact_ids: Iterable[int], event_ids: Iterable[int], at: datetime | None = None
) -> set[int]:
    """Score these new events and refresh these contacts (their fit may have changed), then
    recompute the totals of every contact concerned. Idempotent. Returns those contacts."""
    events = sorted(set(event_ids))
    contacts = set(contact_ids)
    with transaction.atomic():
        scoring_defaults_ensure()
        _lock_scoring(exclusive=False)
        # The time is taken once the lock is held: a recompute fences on that lock, so its
        # totals time is older than any incremental computation that might miss its staging.
        at = at or timezone.now()
        if events:
            contacts |= {
                row[0]
                for row in _execute(
                    "SELECT DISTINCT contact_id FROM leads_event WHERE id = ANY(%s::bigint[])",
                    [events],
                )
            }
        if not contacts:
            return set()
        ordered = sorted(contacts)
        primary_id = _primary_model_id()
        _lock_contacts(ordered, primary_id)
        if events:
            in_events = Sql("e.id = ANY(%s::bigint[])", [events])
            behaviour = _active_rules(kind=ScoringRule.Kind.BEHAVIOUR, include_stale=False)
            _award_behaviour(behaviour, in_events, at)
            rebuilt, passed = _rules_being_rebuilt()
            if rebuilt:
                # The rebuild has gone past these events (they committed late): score them
                # as it would have; later events are the rebuild's.
                after = Sql(f"{in_events.text} AND e.id <= %s", [events, passed])
                _award_behaviour(rebuilt, after, at)
        fit = _active_rules(kind=ScoringRule.Kind.FIT, include_stale=True)
        _fit_sync(fit, Contacts(ids=ordered), at)
        _contacts_totals(ordered, at, primary_id)
    return contacts


def _rules_being_rebuilt() -> tuple[list[RuleSpec], int]:
    """Stale behaviour rules the running recompute is rebuilding, and the last event id it
    has been through (every id, once its ledger phase is over)."""
    running = (
        ScoreRecompute.objects.filter(status=ScoreRecompute.Status.RUNNING)
        .exclude(rules={})
        .values_list("rules", "phase", "last_event_id")
        .first()
    )
    if running is None:
        return [], 0
    rules, phase, last_event_id = running
    passed = last_event_id if phase == ScoreRecompute.Phase.LEDGER else 2**62
    stale = ScoringRule.objects.filter(
        pk__in=[int(pk) for pk in rules],
        kind=ScoringRule.Kind.BEHAVIOUR,
        active=True,
        model__active=True,
        ledger_stale=True,
    )
    return _specs(stale.order_by("pk")), passed


@after_batch(10)
def score_batch(*, contact_ids: list[int], event_ids: list[int]) -> None:
    """After each committed ingest batch: score its events and contacts (before the stage
    definitions, which read the score)."""
    scoring_apply(contact_ids=contact_ids, event_ids=event_ids)


def scoring_contacts_refresh(*, contact_ids: Iterable[int], at: datetime | None = None) -> None:
    """Re-evaluate fit and totals for these contacts (a merge, an edit by hand)."""
    scoring_apply(contact_ids=contact_ids, event_ids=(), at=at)


def scoring_merge(*, survivor_id: int, merged_id: int) -> None:
    """Keep the ledger consistent when `merged_id` is merged into `survivor_id` (called by
    `contact_merge` in its transaction, after the events moved): behaviour entries move to
    the survivor, awards beyond a limit in a shared period are dropped (the earliest stay,
    as a rebuild would keep them), fit is re-evaluated on the merged profile."""
    _execute(
        "UPDATE leads_scoreentry SET contact_id = %s WHERE contact_id = %s AND kind = 'behaviour'",
        [survivor_id, merged_id],
    )
    _execute("DELETE FROM leads_scoreentry WHERE contact_id = %s AND kind = 'fit'", [merged_id])
    bucket = _BUCKET.format(period="r.limit_period", ts="x.occurred_at")
    _execute(
        f"""
        DELETE FROM leads_scoreentry WHERE id IN (
            SELECT id FROM (
                SELECT x.id, row_number() OVER (
                    PARTITION BY x.rule_id, {bucket} ORDER BY x.occurred_at, x.event_id
                ) AS n, r.limit_points / abs(r.points) AS cap
                FROM leads_scoreentry x JOIN leads_scoringrule r ON r.id = x.rule_id
                WHERE x.contact_id = %s AND x.kind = 'behaviour' AND r.limit_points IS NOT NULL
            ) ranked WHERE n > cap
        )
        """,  # noqa: S608
        [survivor_id],
    )
    ContactScore.objects.filter(contact_id=merged_id).delete()
    at = timezone.now()
    primary_id = _primary_model_id()
    fit = _active_rules(kind=ScoringRule.Kind.FIT, include_stale=True)
    _fit_sync(fit, Contacts(ids=[survivor_id, merged_id]), at)
    _contacts_totals([survivor_id, merged_id], at, primary_id)


# --- Full recompute ------------------------------------------------------------------------


def _send_recompute_task() -> None:
    from leads.tasks_scoring import score_recompute_run  # the task calls back into here

    try:
        score_recompute_run.delay()
    except Exception:  # the broker is down: the nightly beat or the page's button resumes it
        logger.warning("could not enqueue the score recompute", exc_info=True)


def score_recompute_request(
    *, kind: str = ScoreRecompute.Kind.MANUAL, requested_by: Any = None
) -> ScoreRecompute:
    """Queue a full recompute, or join the one already waiting. The worker starts it."""
    with transaction.atomic():
        waiting = ScoreRecompute.objects.filter(status=ScoreRecompute.Status.QUEUED).first()
        if waiting is None:
            try:
                with transaction.atomic():
                    waiting = ScoreRecompute.objects.create(
                        kind=kind, requested_by=requested_by if requested_by else None
                    )
            except IntegrityError:  # a concurrent request created it first
                waiting = ScoreRecompute.objects.get(status=ScoreRecompute.Status.QUEUED)
        transaction.on_commit(_send_recompute_task)
    return waiting


def score_recompute_resumable(recompute: ScoreRecompute) -> bool:
    if recompute.status == ScoreRecompute.Status.FAILED:
        return True
    return (
        recompute.status == ScoreRecompute.Status.RUNNING
        and recompute.updated_at < timezone.now() - STALE_AFTER
    )


def score_recompute_resume(*, recompute: ScoreRecompute) -> ScoreRecompute:
    """Carry a failed or stuck recompute on from its last completed range."""
    with transaction.atomic():
        locked = ScoreRecompute.objects.select_for_update().get(pk=recompute.pk)
        if not score_recompute_resumable(locked):
            raise ValidationError(_("This recompute is not stopped, so it cannot be resumed."))
        if locked.status == ScoreRecompute.Status.FAILED:
            if ScoreRecompute.objects.filter(status=ScoreRecompute.Status.RUNNING).exists():
                raise ValidationError(_("Another recompute is running; wait for it to finish."))
            locked.status, locked.error = ScoreRecompute.Status.RUNNING, ""
        locked.save(update_fields=["status", "error", "updated_at"])
        transaction.on_commit(_send_recompute_task)
    return locked


@contextmanager
def _runner() -> Iterator[bool]:
    """One recompute runner at a time: a session advisory lock, released however we leave
    (and by PostgreSQL itself when a killed worker's connection goes)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [RUNNER_LOCK])
        got = bool(cursor.fetchone()[0])
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [RUNNER_LOCK])


@dataclass(frozen=True)
class RecomputeOutcome:
    status: str  # "idle" (nothing to do), "busy", "continued" (budget spent), "stopped", "done", "failed"
    steps: int
    recompute_id: int | None = None


def score_recompute_process(
    *, max_steps: int | None = None, time_budget: float | None = None, enqueue_rest: bool = True
) -> RecomputeOutcome:
    """Run waiting recomputes step by step (each step one transaction over one range), the
    running one first. Stops after `max_steps` (tests) or the time budget, handing over to a
    fresh task then. Safe to call at any time from anywhere: one runner works at a time."""
    budget = TIME_BUDGET_SECONDS if time_budget is None else time_budget
    started = time.monotonic()
    steps = 0
    last_id: int | None = None
    with _runner() as got:
        if not got:
            return RecomputeOutcome("busy", 0)
        verified: set[int] = set()
        while True:
            recompute = (
                ScoreRecompute.objects.filter(status=ScoreRecompute.Status.RUNNING).first()
                or ScoreRecompute.objects.filter(status=ScoreRecompute.Status.QUEUED)
                .order_by("created_at", "id")
                .first()
            )
            if recompute is None:
                return RecomputeOutcome("done" if steps else "idle", steps, last_id)
            last_id = recompute.pk
            if recompute.pk not in verified:
                _verify_stage(recompute)
                verified.add(recompute.pk)
            try:
                finished = _step(recompute.pk)
            except Exception as error:
                logger.exception("score recompute %s failed", recompute.pk)
                ScoreRecompute.objects.filter(pk=recompute.pk).update(
                    status=ScoreRecompute.Status.FAILED,
                    error=f"{type(error).__name__}: {error}"[:2000],
                    finished_at=timezone.now(),
                    updated_at=timezone.now(),
                )
                return RecomputeOutcome("failed", steps, recompute.pk)
            steps += 1
            if finished:
                _after_recompute(recompute.pk)
                continue
            if max_steps is not None and steps >= max_steps:
                return RecomputeOutcome("stopped", steps, recompute.pk)
            if time.monotonic() - started > budget:
                if enqueue_rest:
                    transaction.on_commit(_send_recompute_task)
                return RecomputeOutcome("continued", steps, recompute.pk)


def _verify_stage(recompute: ScoreRecompute) -> None:
    """A resumed apply phase needs the staged totals; if the staging table lost them (it is
    unlogged: a database crash empties it) or is gone, stage again."""
    if (
        recompute.status != ScoreRecompute.Status.RUNNING
        or recompute.phase != ScoreRecompute.Phase.APPLY
    ):
        return
    exists = _execute("SELECT to_regclass('leads_scorestage') IS NOT NULL", [])[0][0]
    count = _execute("SELECT count(*) FROM leads_scorestage", [])[0][0] if exists else -1
    if count != recompute.staged_rows:
        ScoreRecompute.objects.filter(pk=recompute.pk).update(phase=ScoreRecompute.Phase.STAGE)


def _max_id(table: str) -> int:
    return int(_execute(f"SELECT coalesce(max(id), 0) FROM {table}", [])[0][0])  # noqa: S608


def _before_first_id(table: str) -> int:
    """Where ranges over the table start: ids below its lowest are empty ranges."""
    return int(_execute(f"SELECT coalesce(min(id), 1) - 1 FROM {table}", [])[0][0])  # noqa: S608


def _step(recompute_id: int) -> bool:
    """One unit of work in one transaction. True when the recompute finished."""
    Phase = ScoreRecompute.Phase
    with transaction.atomic():
        recompute = ScoreRecompute.objects.select_for_update().get(pk=recompute_id)
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [RECOMPUTE_WORK_MEM])
            if recompute.phase != Phase.STAGE:
                # Range statements are many and each is over in seconds: compiling them
                # (JIT) costs more than it saves. The one aggregate of the stage keeps it.
                # And they join sets built moments before (fit entries, scores of the
                # previous range) whose row estimates lag far behind: a nested loop chosen
                # on a guess of one row turns a range quadratic. Hash and merge joins keep
                # every range linear in its size (index probes stay nested loops).
                cursor.execute(
                    "SELECT set_config('jit', 'off', true), "
                    "set_config('enable_nestloop', 'off', true)"
                )
        if recompute.status == ScoreRecompute.Status.QUEUED:
            _start(recompute)
        elif recompute.phase == Phase.LEDGER:
            _ledger_range(recompute)
        elif recompute.phase == Phase.FIT:
            _fit_range(recompute)
        elif recompute.phase == Phase.STAGE:
            _stage(recompute)
        elif recompute.phase == Phase.APPLY:
            _apply_range(recompute)
        if recompute.phase == Phase.DONE:
            _finish(recompute)
        recompute.save()
        return recompute.status == ScoreRecompute.Status.DONE


def _start(recompute: ScoreRecompute) -> None:
    """Fix what this run rebuilds (the rules stale now, at their versions) and how far
    (the ids there are now: later ones are scored incrementally as they arrive)."""
    scoring_defaults_ensure()
    _lock_scoring(exclusive=True)
    stale = list(ScoringRule.objects.filter(ledger_stale=True).values_list("pk", "version", "kind"))
    contact_max, event_max = _max_id("leads_contact"), _max_id("leads_event")
    rebuild = [pk for pk, _, kind in stale if kind == ScoringRule.Kind.BEHAVIOUR]
    recompute.status = ScoreRecompute.Status.RUNNING
    recompute.started_at = recompute.started_at or timezone.now()
    recompute.rules = {str(pk): version for pk, version, _ in stale}
    recompute.contact_max_id, recompute.event_max_id = contact_max, event_max
    recompute.last_contact_id = _before_first_id("leads_contact")
    recompute.last_event_id = _before_first_id("leads_event")
    # Progress units: event ids to rebuild, contact ids twice (fit, then totals), and a
    # tenth of them for adding up.
    events = max(event_max - recompute.last_event_id, 0) if rebuild else 0
    contacts = max(contact_max - recompute.last_contact_id, 0)
    recompute.total = events + 2 * contacts + contacts // 10 + 1
    recompute.done = 0
    if rebuild:
        # These rules' entries start from nothing; the ranges add them back exactly as the
        # incremental path would have, in arrival order.
        _execute(
            "DELETE FROM leads_scoreentry x "
            "WHERE x.rule_id = ANY(%s::bigint[]) AND x.event_id IS NOT NULL",
            [rebuild],
        )
        recompute.phase = ScoreRecompute.Phase.LEDGER
    else:
        recompute.phase = ScoreRecompute.Phase.FIT


def _ledger_range(recompute: ScoreRecompute) -> None:
    _lock_scoring(exclusive=True)
    current_max = _max_id("leads_event")
    ids = [int(pk) for pk in recompute.rules]
    rules = _active_rules(kind=ScoringRule.Kind.BEHAVIOUR, include_stale=True, ids=ids)
    now = timezone.now()
    lo = recompute.last_event_id
    if lo < current_max:
        hi = min(lo + EVENT_STEP, current_max)
        _award_behaviour(rules, Sql("e.id > %s AND e.id <= %s", [lo, hi]), now, fresh_only=True)
        recompute.last_event_id = hi
        recompute.done = min(recompute.done + hi - lo, recompute.total - 1)
        if hi < current_max:
            return
    # Every event there is now has been through the rules. Events that commit later (even
    # with a lower id) are scored by the incremental step, which from here on treats these
    # rules as rebuilt (`_rules_being_rebuilt`).
    _execute("ANALYZE leads_scoreentry", [])  # the ledger may have changed size entirely
    recompute.phase = ScoreRecompute.Phase.FIT


def _fit_range(recompute: ScoreRecompute) -> None:
    _lock_scoring(exclusive=True)
    lo = recompute.last_contact_id
    if lo < recompute.contact_max_id:
        hi = min(lo + CONTACT_STEP, recompute.contact_max_id)
        fit = _active_rules(kind=ScoringRule.Kind.FIT, include_stale=True)
        _fit_sync(fit, Contacts(lo=lo, hi=hi), timezone.now(), since=_fit_since(recompute))
        recompute.last_contact_id = hi
        recompute.done += hi - lo
        if hi < recompute.contact_max_id:
            return
    # The fence: holding the lock exclusively, no incremental step is half done; every one
    # that follows takes its time after this one, so its totals are newer and win.
    recompute.at = timezone.now()
    recompute.phase = ScoreRecompute.Phase.STAGE


def _fit_since(recompute: ScoreRecompute) -> datetime | None:
    """Which contacts the fit pass re-checks. Fit follows profiles as they change (after
    every batch, on merges), so the nightly run only re-checks contacts saved since the last
    finished recompute began, a safety net for changes made elsewhere. A rule change, or no
    earlier recompute, re-checks everyone."""
    if recompute.kind != ScoreRecompute.Kind.NIGHTLY or recompute.rules:
        return None
    last = (
        ScoreRecompute.objects.filter(status=ScoreRecompute.Status.DONE)
        .exclude(pk=recompute.pk)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return last - FIT_RECHECK_MARGIN if last else None


def _stage(recompute: ScoreRecompute) -> None:
    """Add up every contact's decayed behaviour and fit per model in one pass over the
    ledger (a hash aggregate, as a hand-written query would) into the staging table the
    totals ranges read. Takes no lock, so ingestion carries on meanwhile.

    CREATE TABLE AS rather than INSERT: PostgreSQL runs it in parallel (an INSERT, like any
    UPDATE, never does), and sorted by contact a BRIN index is all the ranges need."""
    decayed = decay_sql(at="%(at)s", ts="x.occurred_at", hl="m.half_life_days")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS leads_scorestage")
        cursor.execute(
            f"""
            CREATE UNLOGGED TABLE leads_scorestage AS
            SELECT x.contact_id, x.model_id,
                   -- Behaviour entries are the ones with an event: a null test is cheaper
                   -- than comparing the kind on every row of the ledger.
                   sum(CASE WHEN x.event_id IS NULL THEN 0 ELSE x.points * {decayed} END)
                       AS behaviour,
                   sum(CASE WHEN x.event_id IS NULL THEN x.points ELSE 0 END)::int AS fit
            FROM leads_scoreentry x JOIN leads_scoremodel m ON m.id = x.model_id AND m.active
            GROUP BY x.contact_id, x.model_id
            ORDER BY x.contact_id
            """,  # noqa: S608
            {"at": recompute.at},
        )
        recompute.staged_rows = cursor.rowcount
        cursor.execute(
            "CREATE INDEX leads_scorestage_contact ON leads_scorestage USING brin (contact_id)"
        )
        # Fresh statistics, so the totals ranges plan for what is there now (a sampled
        # ANALYZE: a fraction of a second however large the tables).
        cursor.execute("ANALYZE leads_scorestage, leads_contactscore")
    recompute.phase = ScoreRecompute.Phase.APPLY
    recompute.last_contact_id = _before_first_id("leads_contact")
    recompute.done += max(recompute.contact_max_id - recompute.last_contact_id, 0) // 10


def _apply_range(recompute: ScoreRecompute) -> None:
    lo = recompute.last_contact_id
    if lo >= recompute.contact_max_id:
        recompute.phase = ScoreRecompute.Phase.DONE
        return
    _lock_scoring(exclusive=True)
    hi = min(lo + CONTACT_STEP, recompute.contact_max_id)
    assert recompute.at is not None
    lazy = recompute.kind == ScoreRecompute.Kind.NIGHTLY and not recompute.rules
    recompute.contacts_changed += _apply_totals(
        lo, hi, recompute.at, _primary_model_id(), lazy=lazy
    )
    recompute.last_contact_id = hi
    recompute.done += hi - lo
    if hi >= recompute.contact_max_id:
        recompute.phase = ScoreRecompute.Phase.DONE


def _apply_totals(lo: int, hi: int, at: datetime, primary_id: int | None, *, lazy: bool) -> int:
    """Write the staged totals of contacts lo < id ≤ hi: ContactScore of every model, zero
    for contacts without entries, and Contact.score. A row computed after `at` (by the
    incremental path, meanwhile) is newer and kept. Returns how many scores changed.

    `lazy` (the nightly decay, no rule changed): a ContactScore row is rewritten only when
    its rounded total moves. Decay is then the only change, so a row left alone still holds
    its exact value as of its own `computed_at`, and most rows are not written at all."""
    changed = (
        "round(cs.total::numeric) <> round(n.total::numeric) OR cs.fit <> n.fit"
        if lazy
        else "cs.behaviour <> n.behaviour OR cs.fit <> n.fit"
    )
    # Contacts whose score drops to 0, having no points at all any more. Scores other than
    # 0 are only ever written together with a ContactScore row of the primary model, so
    # between recomputes those are the rows cleared here; after a rule or model change
    # (the primary may be another model now) every contact of the range is looked at.
    zeros = (
        "SELECT cl.contact_id, 0 FROM cleared cl WHERE cl.model_id = %(primary)s"
        if lazy
        else "SELECT c0.id, 0 FROM leads_contact c0 "
        "WHERE c0.id > %(lo)s AND c0.id <= %(hi)s AND c0.score <> 0 AND NOT EXISTS "
        "(SELECT 1 FROM n WHERE n.contact_id = c0.id AND n.model_id = %(primary)s)"
    )
    text = f"""
WITH n AS (
    SELECT s.contact_id, s.model_id, s.behaviour, s.fit, s.behaviour + s.fit AS total
    FROM leads_scorestage s WHERE s.contact_id > %(lo)s AND s.contact_id <= %(hi)s
),
updated AS (
    UPDATE leads_contactscore cs
    SET behaviour = n.behaviour, fit = n.fit, total = n.total, computed_at = %(at)s
    FROM n
    WHERE cs.contact_id = n.contact_id AND cs.model_id = n.model_id
      AND cs.contact_id > %(lo)s AND cs.contact_id <= %(hi)s
      AND cs.computed_at <= %(at)s AND ({changed})
),
added AS (
    INSERT INTO leads_contactscore (contact_id, model_id, behaviour, fit, total, computed_at)
    SELECT n.contact_id, n.model_id, n.behaviour, n.fit, n.total, %(at)s FROM n
    WHERE NOT EXISTS (
        SELECT 1 FROM leads_contactscore cs
        WHERE cs.contact_id = n.contact_id AND cs.model_id = n.model_id
          AND cs.contact_id > %(lo)s AND cs.contact_id <= %(hi)s
    )
    ON CONFLICT (contact_id, model_id) DO NOTHING
),
cleared AS (
    UPDATE leads_contactscore cs SET behaviour = 0, fit = 0, total = 0, computed_at = %(at)s
    WHERE cs.contact_id > %(lo)s AND cs.contact_id <= %(hi)s AND cs.computed_at <= %(at)s
      AND (cs.total <> 0 OR cs.behaviour <> 0 OR cs.fit <> 0)
      AND NOT EXISTS (SELECT 1 FROM n WHERE n.contact_id = cs.contact_id AND n.model_id = cs.model_id)
    RETURNING cs.contact_id, cs.model_id
),
t AS (
    SELECT n.contact_id AS id, round(n.total::numeric)::int AS score
    FROM n WHERE n.model_id = %(primary)s
    UNION ALL
    {zeros}
)
UPDATE leads_contact c SET score = t.score
FROM t
-- Every scan names the range, so each range costs its own size, not the table's.
WHERE c.id = t.id AND c.id > %(lo)s AND c.id <= %(hi)s AND c.score <> t.score
  AND NOT EXISTS (
      SELECT 1 FROM leads_contactscore f
      WHERE f.contact_id = t.id AND f.model_id = %(primary)s
        AND f.contact_id > %(lo)s AND f.contact_id <= %(hi)s AND f.computed_at > %(at)s
  )
"""  # noqa: S608 (fixed SQL fragments, every value bound)
    with connection.cursor() as cursor:
        cursor.execute(text, {"lo": lo, "hi": hi, "at": at, "primary": primary_id})
        return cursor.rowcount


def _finish(recompute: ScoreRecompute) -> None:
    for pk, version in recompute.rules.items():
        # A rule edited again meanwhile stays stale: the recompute its save queued rebuilds it.
        ScoringRule.objects.filter(pk=int(pk), version=version).update(ledger_stale=False)
    recompute.status = ScoreRecompute.Status.DONE
    recompute.phase = ScoreRecompute.Phase.DONE
    recompute.finished_at = timezone.now()
    recompute.done = recompute.total


def _after_recompute(recompute_id: int) -> None:
    """Stages follow scores: let the MQL/SQL definitions look at every contact again."""
    try:
        from leads.services.qualification import qualification_evaluate_all
    except ImportError:
        return
    try:
        qualification_evaluate_all()
    except Exception:
        logger.exception("qualification after score recompute %s failed", recompute_id)


def score_recompute_nightly() -> None:
    """Beat, once a night: decay moves every score a little; recompute them all. A stuck
    recompute is resumed instead of starting another."""
    stuck = ScoreRecompute.objects.filter(status=ScoreRecompute.Status.RUNNING).first()
    if stuck is not None and score_recompute_resumable(stuck):
        ScoreRecompute.objects.filter(pk=stuck.pk).update(updated_at=timezone.now())
    else:
        score_recompute_request(kind=ScoreRecompute.Kind.NIGHTLY)
    score_recompute_process()


# --- Editing rules and models ----------------------------------------------------------------


# Fields whose change means the ledger must be rebuilt for the rule.
LEDGER_FIELDS = (
    "kind",
    "points",
    "event_name",
    "conditions",
    "limit_points",
    "limit_period",
    "active",
)
RULE_FIELDS = ("name", "description", *LEDGER_FIELDS)


def scoring_rule_clean(rule: ScoringRule) -> None:
    """Validate a rule in memory; ValidationError names each wrong field."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    rule.name = (rule.name or "").strip()
    rule.event_name = (rule.event_name or "").strip()
    if not rule.name:
        add("name", _("Give the rule a name."))
    if rule.kind not in ScoringRule.Kind.values:
        add("kind", _("Choose behaviour or fit."))
    if not isinstance(rule.points, int) or isinstance(rule.points, bool):
        add("points", _("Points must be a whole number."))
    elif rule.points == 0:
        add("points", _("A rule must add or remove points: 0 does nothing."))
    elif abs(rule.points) > MAX_POINTS:
        add("points", _("At most %(n)s points either way.") % {"n": MAX_POINTS})
    if rule.kind == ScoringRule.Kind.BEHAVIOUR:
        if not rule.event_name:
            add("event_name", _("A behaviour rule needs the event it scores."))
        has_points, has_period = rule.limit_points is not None, bool(rule.limit_period)
        if has_points != has_period:
            add(
                "limit_points" if has_period else "limit_period",
                _("A limit needs both the points and the period (day, week or month)."),
            )
        if has_period and rule.limit_period not in ScoringRule.Period.values:
            add("limit_period", _("The period is a day, a week or a month."))
        if (
            has_points
            and isinstance(rule.points, int)
            and rule.points
            and rule.limit_points is not None
            and rule.limit_points < abs(rule.points)
        ):
            add(
                "limit_points",
                _(
                    "The limit (%(limit)s) is below the rule's own points (%(points)s): it would never award anything."
                )
                % {"limit": rule.limit_points, "points": abs(rule.points)},
            )
    elif rule.kind == ScoringRule.Kind.FIT:
        if rule.event_name:
            add(
                "event_name",
                _("Fit rules look at who the contact is, not at an event: leave the event empty."),
            )
        if rule.limit_points is not None or rule.limit_period:
            add(
                "limit_points",
                _("Fit points are awarded once; a limit applies to behaviour rules only."),
            )
    if rule.kind in ScoringRule.Kind.values:
        try:
            rule.conditions = conditions_clean(rule.conditions, kind=rule.kind)
        except ValidationError as error:
            for message in error.message_dict.get("conditions", []):
                add("conditions", message)
    if (
        rule.name
        and rule.model_id
        and (
            ScoringRule.objects.filter(model_id=rule.model_id, name__iexact=rule.name)
            .exclude(pk=rule.pk)
            .exists()
        )
    ):
        add("name", _("This model already has a rule with this name."))
    if errors:
        raise ValidationError(errors)


def scoring_rule_create(*, model: ScoreModel, actor: Any = None, **fields: Any) -> ScoringRule:
    """A new rule; its ledger is built by the recompute this queues."""
    rule = ScoringRule(model=model, created_by=actor, updated_by=actor, ledger_stale=True)
    for field in RULE_FIELDS:
        if field in fields:
            setattr(rule, field, fields[field])
    rule.conditions = rule.conditions or []
    rule.limit_period = rule.limit_period or ""
    with transaction.atomic():
        scoring_rule_clean(rule)
        rule.save()
        score_recompute_request(kind=ScoreRecompute.Kind.RULES, requested_by=actor)
    return rule


def scoring_rule_update(
    *, rule: ScoringRule, version: int, actor: Any = None, **fields: Any
) -> ScoringRule:
    """Save changes made to version `version` of the rule; EditConflict when someone else
    saved it since. A change to what the rule scores queues a recompute."""
    with transaction.atomic():
        current = ScoringRule.objects.select_for_update().get(pk=rule.pk)
        if current.version != version:
            raise EditConflict(current)
        before = {f: getattr(current, f) for f in LEDGER_FIELDS}
        for field in RULE_FIELDS:
            if field in fields:
                setattr(current, field, fields[field])
        current.conditions = current.conditions or []
        current.limit_period = current.limit_period or ""
        scoring_rule_clean(current)
        changed = any(getattr(current, f) != before[f] for f in LEDGER_FIELDS)
        current.version += 1
        current.updated_by = actor
        current.ledger_stale = current.ledger_stale or changed
        current.save()
        if changed:
            score_recompute_request(kind=ScoreRecompute.Kind.RULES, requested_by=actor)
    return current


def scoring_rule_delete(*, rule: ScoringRule, version: int, actor: Any = None) -> None:
    """Delete a rule and its awards; the recompute this queues corrects the totals."""
    with transaction.atomic():
        current = ScoringRule.objects.select_for_update().get(pk=rule.pk)
        if current.version != version:
            raise EditConflict(current)
        _execute(f"DELETE FROM leads_scoreentry x WHERE {RULE_ENTRIES_SQL}", [[current.pk]] * 2)  # noqa: S608
        current.delete()
        score_recompute_request(kind=ScoreRecompute.Kind.RULES, requested_by=actor)


MODEL_FIELDS = ("name", "description", "half_life_days", "is_primary", "active")
# Changes to a model that change every score in it.
MODEL_SCORE_FIELDS = ("half_life_days", "is_primary", "active")


def score_model_save(
    *, model: ScoreModel | None = None, version: int | None = None, actor: Any = None, **fields: Any
) -> ScoreModel:
    """Create or update a score model. Making one primary takes that from the other; the
    primary cannot stop being primary except by making another one primary, nor be
    inactive. A change that moves scores (half-life, primary, active) queues a recompute."""
    with transaction.atomic():
        if model is None:
            current, before = ScoreModel(), {}
        else:
            current = ScoreModel.objects.select_for_update().get(pk=model.pk)
            if version is not None and current.version != version:
                raise EditConflict(current)
            before = {f: getattr(current, f) for f in MODEL_FIELDS}
        for field in MODEL_FIELDS:
            if field in fields:
                setattr(current, field, fields[field])
        current.name = (current.name or "").strip()
        errors: dict[str, list[str]] = {}
        if before.get("is_primary") and not current.is_primary:
            errors["is_primary"] = [
                _("Make another model primary instead: one model is always primary.")
            ]
        if current.is_primary and not current.active:
            errors["active"] = [_("The primary model cannot be inactive.")]
        try:
            current.full_clean(exclude=["version"], validate_constraints=False)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
        if errors:
            raise ValidationError(errors)
        if current.is_primary:
            ScoreModel.objects.filter(is_primary=True).exclude(pk=current.pk).update(
                is_primary=False
            )
        if model is not None:
            current.version += 1
        current.save()
        moved = (
            current.is_primary
            if model is None
            else any(before[f] != getattr(current, f) for f in MODEL_SCORE_FIELDS)
        )
        if moved:
            score_recompute_request(kind=ScoreRecompute.Kind.MANUAL, requested_by=actor)
    return current


# --- Lifecycle's threshold -------------------------------------------------------------------


def mql_score_threshold() -> int:
    """The primary score that makes an MQL, from the active MQL definitions' score criterion
    (the lowest if several); DEFAULT_MQL_THRESHOLD when no definition has one."""
    try:
        from leads.models import QualificationDefinition
    except ImportError:  # pragma: no cover - the lifecycle part is not installed
        return DEFAULT_MQL_THRESHOLD
    values: list[int] = []
    for criteria in QualificationDefinition.objects.filter(kind="mql", active=True).values_list(
        "criteria", flat=True
    ):
        for criterion in criteria or []:
            if isinstance(criterion, dict) and criterion.get("kind") == "score":
                try:
                    values.append(int(str(criterion.get("min_score"))))
                except ValueError:
                    continue
    return min(values) if values else DEFAULT_MQL_THRESHOLD
