"""Segments: editing them, keeping their members current, static lists and RFM.

Membership is kept by one routine, `_apply`: given the (segment, contact) pairs that should
be in, for a scope of contacts, ONE statement inserts the new stays, closes the stays of
contacts no longer in, and returns both, so `segment_entered` / `segment_exited` go out on
commit with exactly the contacts that moved. It is used

- after every ingested batch (`after_batch(30)`, after scores and stages): each rule-based
  segment for just the contacts the batch touched, then RFM for them;
- by the full computation of a new or edited segment, range of contact ids by range, in a
  worker, with its progress on the segment row (resumable: every range is idempotent);
- by the beat for rules that drift with the clock ("in the last 7 days"), and nightly.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from leads import signals
from leads.models import Contact, Identity, RfmCutoffs, Segment, SegmentMembership
from leads.services.reactions import after_batch
from leads.services.scoring_conditions import Sql
from leads.services.segment_rules import (
    EVERYONE,
    NET_REVENUE,
    PAID_STATUSES,
    Context,
    Scope,
    matching_sql,
    rules_clean,
    rules_referenced_segments,
    rules_volatile,
)

logger = logging.getLogger(__name__)
Kind = Segment.Kind

CHUNK = 50_000  # contact ids per range of a full computation
STUCK_AFTER = timedelta(minutes=10)  # a computation this long without progress is restarted
MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_CSV_ROWS = 100_000

# The shipped RFM segments; migration 0010 holds a frozen copy.
RFM_SEGMENTS: list[tuple[str, str, str]] = [
    (
        "champions",
        gettext_noop("Champions"),
        gettext_noop("Bought recently, buy often and spend the most."),
    ),
    (
        "loyal",
        gettext_noop("Loyal customers"),
        gettext_noop("Buy regularly and recently enough: reward them."),
    ),
    ("new", gettext_noop("New customers"), gettext_noop("Their first order was recent.")),
    (
        "at_risk",
        gettext_noop("At risk"),
        gettext_noop("Used to buy often, but not for a while: win them back."),
    ),
    (
        "hibernating",
        gettext_noop("Hibernating"),
        gettext_noop("Few orders, the last one a while ago."),
    ),
    ("lost", gettext_noop("Lost"), gettext_noop("Few orders, the last one long ago.")),
]
# Scores r, f, m run 1 (worst) to 5 (best): recency by the last paid order, frequency by
# paid orders, monetary by net revenue. First match wins; the rest (e.g. recent but
# occasional buyers) are in none of the six.
RFM_RULES = """
    CASE WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'champions'
         WHEN r >= 3 AND f >= 3 THEN 'loyal'
         WHEN r >= 4 AND f = 1 THEN 'new'
         WHEN r <= 2 AND f >= 3 THEN 'at_risk'
         WHEN r = 2 THEN 'hibernating'
         WHEN r = 1 THEN 'lost'
    END
"""
RFM_EXPLAINED = [
    ("champions", "R ≥ 4, F ≥ 4 and M ≥ 4"),
    ("loyal", "R ≥ 3 and F ≥ 3 (not champions)"),
    ("new", "R ≥ 4 and F = 1"),
    ("at_risk", "R ≤ 2 and F ≥ 3"),
    ("hibernating", "R = 2 and F ≤ 2"),
    ("lost", "R = 1 and F ≤ 2"),
]


# --- Applying membership ---------------------------------------------------------------------


@dataclass
class Changes:
    entered: dict[int, list[int]] = field(default_factory=dict)  # segment id → contact ids
    exited: dict[int, list[int]] = field(default_factory=dict)

    def merge(self, other: Changes) -> None:
        for mine, theirs in ((self.entered, other.entered), (self.exited, other.exited)):
            for segment_id, ids in theirs.items():
                mine.setdefault(segment_id, []).extend(ids)

    def count(self) -> int:
        return sum(map(len, self.entered.values())) + sum(map(len, self.exited.values()))


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _apply(
    *, segment_ids: list[int], assign: Sql, scope: Scope, now: datetime, via: str
) -> Changes:
    """Make the open stays of `segment_ids` among the `scope`'s contacts exactly the
    (segment_id, contact_id) rows `assign` selects, in one statement; signals on commit."""
    member_scope = scope.sql("sm.contact_id")
    current_scope = scope.sql("x.contact_id")
    sql = f"""
        WITH assign AS MATERIALIZED ({assign.text}),
        entered AS (
            INSERT INTO leads_segmentmembership (segment_id, contact_id, entered_at, via)
            SELECT a.segment_id, a.contact_id, %s, %s FROM assign a
            WHERE NOT EXISTS (
                SELECT 1 FROM leads_segmentmembership x
                WHERE x.segment_id = ANY(%s::bigint[]) AND x.exited_at IS NULL
                  AND {current_scope.text}
                  AND x.segment_id = a.segment_id AND x.contact_id = a.contact_id
            )
            ON CONFLICT (segment_id, contact_id) WHERE exited_at IS NULL DO NOTHING
            RETURNING segment_id, contact_id
        ),
        exited AS (
            UPDATE leads_segmentmembership sm SET exited_at = %s
            WHERE sm.segment_id = ANY(%s::bigint[]) AND sm.exited_at IS NULL
              AND {member_scope.text}
              -- NOT IN over the materialized pairs is a hashed subplan whatever the row
              -- estimates (an anti-join on a fresh table's guess can be a nested loop).
              AND (sm.segment_id, sm.contact_id) NOT IN (
                  SELECT a.segment_id, a.contact_id FROM assign a
              )
            RETURNING sm.segment_id, sm.contact_id
        )
        SELECT true, segment_id, contact_id FROM entered
        UNION ALL SELECT false, segment_id, contact_id FROM exited
    """  # noqa: S608 (fixed fragments; every value is a parameter)
    params = [
        *assign.params,
        now,
        via,
        segment_ids,
        *current_scope.params,
        now,
        segment_ids,
        *member_scope.params,
    ]
    changes = Changes()
    for came, segment_id, contact_id in _fetch(sql, params):
        (changes.entered if came else changes.exited).setdefault(segment_id, []).append(contact_id)
    _counts_and_signals(changes)
    return changes


def _counts_and_signals(changes: Changes) -> None:
    """Move the cached member counts by what changed, and announce it on commit."""
    touched = set(changes.entered) | set(changes.exited)
    for segment_id in sorted(touched):
        delta = len(changes.entered.get(segment_id, [])) - len(changes.exited.get(segment_id, []))
        if delta:
            Segment.objects.filter(pk=segment_id).update(member_count=F("member_count") + delta)
    if touched:
        entered = {k: sorted(v) for k, v in changes.entered.items() if v}
        exited = {k: sorted(v) for k, v in changes.exited.items() if v}
        transaction.on_commit(lambda: _announce(entered, exited))


def _announce(entered: dict[int, list[int]], exited: dict[int, list[int]]) -> None:
    for segment_id, ids in entered.items():
        signals.segment_entered.send(sender=Segment, segment_id=segment_id, contact_ids=ids)
    for segment_id, ids in exited.items():
        signals.segment_exited.send(sender=Segment, segment_id=segment_id, contact_ids=ids)


def _rules_assign(segment: Segment, ctx: Context) -> Sql:
    match = matching_sql(segment.rules, ctx)
    return Sql(
        f"SELECT %s::bigint AS segment_id, m.id AS contact_id FROM ({match.text}) m",  # noqa: S608
        [segment.pk, *match.params],
    )


def segment_apply_rules(*, segment: Segment, scope: Scope, now: datetime | None = None) -> Changes:
    """Bring one rule-based segment's members up to date for the scope's contacts."""
    ctx = Context(now=now or timezone.now(), scope=scope)
    return _apply(
        segment_ids=[segment.pk],
        assign=_rules_assign(segment, ctx),
        scope=scope,
        now=ctx.now,
        via=SegmentMembership.Via.RULES,
    )


# --- After each batch -----------------------------------------------------------------------


ALL_KINDS = (Kind.PERSONA, Kind.RFM, Kind.DYNAMIC)


def segments_evaluate(
    *,
    contact_ids: Iterable[int],
    now: datetime | None = None,
    kinds: Sequence[str] = ALL_KINDS,
) -> Changes:
    """Segments of these kinds for these contacts only, one statement per segment: personas
    first, then RFM, then dynamic segments (whose rules may name personas and RFM
    segments). A segment whose statement fails is logged and skipped (its next full
    refresh repairs it); the others still run."""
    ids = sorted(set(contact_ids))
    changes = Changes()
    if not ids:
        return changes
    now = now or timezone.now()
    scope = Scope.of(ids)
    rule_based = [k for k in (Kind.PERSONA, Kind.DYNAMIC) if k in kinds]
    segments = sorted(
        Segment.objects.filter(kind__in=rule_based).only("pk", "kind", "rules", "name"),
        key=lambda s: (s.kind != Kind.PERSONA, s.pk),
    )
    for segment in segments:
        if segment.kind == Kind.PERSONA:
            _apply_safely(segment, scope, now, changes)
    if Kind.RFM in kinds:
        try:
            with transaction.atomic():
                changes.merge(rfm_apply(scope=scope, now=now))
        except DatabaseError:
            logger.exception("RFM update failed for %d contacts", len(ids))
    for segment in segments:
        if segment.kind == Kind.DYNAMIC:
            _apply_safely(segment, scope, now, changes)
    return changes


def _apply_safely(segment: Segment, scope: Scope, now: datetime, changes: Changes) -> None:
    if not segment.rules:
        return
    try:
        with transaction.atomic():  # a savepoint: one broken segment spoils no other
            changes.merge(segment_apply_rules(segment=segment, scope=scope, now=now))
    except (DatabaseError, KeyError, TypeError, ValueError):
        logger.exception("segment %s could not be evaluated", segment.pk)


@after_batch(15)
def personas_react(*, contact_ids: Sequence[int], event_ids: Sequence[int] = ()) -> None:
    """After scores (10), before the MQL/SQL definitions (20), which can count a persona
    match: the personas of the contacts a batch touched."""
    segments_evaluate(contact_ids=contact_ids, kinds=[Kind.PERSONA])


@after_batch(30)
def segments_react(*, contact_ids: Sequence[int], event_ids: Sequence[int] = ()) -> None:
    """After scores (10), personas (15) and stages (20): RFM and dynamic segments of the
    contacts a batch touched."""
    segments_evaluate(contact_ids=contact_ids, kinds=[Kind.RFM, Kind.DYNAMIC])


# --- Full computation -----------------------------------------------------------------------


def _id_bounds() -> tuple[int, int]:
    row = _fetch("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM leads_contact", [])[0]
    return int(row[0]), int(row[1])


def _ranges(lo: int, hi: int, start: int) -> Iterable[tuple[int, int]]:
    """(after, up_to] id ranges from `start` to `hi`."""
    cursor = max(start, lo - 1)
    while cursor < hi:
        yield cursor, min(cursor + CHUNK, hi)
        cursor += CHUNK


def _recount(segment_ids: Iterable[int]) -> None:
    """The exact member counts (the incremental path moves them by deltas)."""
    _fetch(
        """
        UPDATE leads_segment s SET member_count = (
            SELECT count(*) FROM leads_segmentmembership m
            WHERE m.segment_id = s.id AND m.exited_at IS NULL
        ) WHERE s.id = ANY(%s::bigint[]) RETURNING s.id
        """,
        [sorted(segment_ids)],
    )


def _analyze() -> None:
    """Fresh statistics after a full computation: a segment that just gained 800,000 stays
    still looked empty to the planner, which then read all of them to check a batch's 200
    contacts (0.9 s instead of 0.02 s a segment). Samples the table; cheap."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_segmentmembership")


_NOBODY = Sql("SELECT NULL::bigint AS segment_id, NULL::bigint AS contact_id WHERE false", [])


def segment_compute(*, segment_id: int) -> bool:
    """The full membership of a rule-based segment waiting in state "computing": range by
    range, each in its own transaction with the progress, so a killed run resumes at the
    last committed range. Stops (False) when the rules changed meanwhile: the edit queued
    a computation of its own."""
    try:
        segment = Segment.objects.get(pk=segment_id)
    except Segment.DoesNotExist:
        return False
    if segment.state != Segment.State.COMPUTING or not segment.is_rule_based:
        return False
    version = segment.version
    lo, hi = _id_bounds()
    Segment.objects.filter(pk=segment_id, version=version).update(progress_total=hi)
    start = segment.progress_done if segment.computed_version == version else 0
    now = timezone.now()
    try:
        for after, up_to in _ranges(lo, hi, start):
            with transaction.atomic():
                current = Segment.objects.select_for_update().filter(pk=segment_id).first()
                if current is None or current.version != version:
                    return False
                segment_apply_rules(segment=current, scope=Scope.between(after, up_to), now=now)
                # updated_at doubles as a heartbeat: the beat restarts computations idle
                # for longer than STUCK_AFTER.
                Segment.objects.filter(pk=segment_id).update(
                    progress_done=up_to, computed_version=version, updated_at=timezone.now()
                )
    except DatabaseError as error:
        logger.exception("computing segment %s failed", segment_id)
        Segment.objects.filter(pk=segment_id, version=version).update(
            state=Segment.State.FAILED, problem=str(error)[:500]
        )
        return False
    with transaction.atomic():
        current = Segment.objects.select_for_update().filter(pk=segment_id).first()
        if current is None or current.version != version:
            return False
        _recount([segment_id])
        _analyze()
        Segment.objects.filter(pk=segment_id).update(
            state=Segment.State.READY,
            progress_done=hi,
            computed_version=version,
            computed_at=now,
            problem="",
        )
    return True


def segment_refresh(*, segment: Segment, now: datetime | None = None) -> Changes:
    """Re-evaluate a rule-based segment over every contact, range by range (the beat, for
    rules that drift with the clock; nightly for all)."""
    now = now or timezone.now()
    lo, hi = _id_bounds()
    changes = Changes()
    for after, up_to in _ranges(lo, hi, 0):
        with transaction.atomic():
            changes.merge(
                segment_apply_rules(segment=segment, scope=Scope.between(after, up_to), now=now)
            )
    with transaction.atomic():
        _recount([segment.pk])
        Segment.objects.filter(pk=segment.pk).update(computed_at=now)
    return changes


def segments_refresh_volatile(*, now: datetime | None = None) -> int:
    """Beat: segments whose rules depend on the clock, and computations whose task was lost
    (Redis down when the segment was saved). Returns how many memberships changed."""
    total = 0
    for segment in Segment.objects.filter(
        kind__in=[Kind.DYNAMIC, Kind.PERSONA], volatile=True, state=Segment.State.READY
    ).order_by("-kind", "pk"):
        total += segment_refresh(segment=segment, now=now).count()
    stale = timezone.now() - STUCK_AFTER
    stuck = Segment.objects.filter(state=Segment.State.COMPUTING, updated_at__lt=stale)
    for pk in stuck.values_list("pk", flat=True):
        segment_compute(segment_id=pk)
    return total


DAILY_EVERY = timedelta(hours=23)
_BEAT_LOCK = 0x5E6_0001  # pg advisory lock key: one refresh at a time, however many beats


def segments_beat() -> None:
    """The beat's refresh: drifting segments every time, the daily refresh when the last
    one (the RFM segments' computed_at) is older than DAILY_EVERY. A second beat firing
    meanwhile finds the lock taken and returns."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_BEAT_LOCK])
        if not cursor.fetchone()[0]:
            return
    try:
        last = (
            Segment.objects.filter(kind=Kind.RFM)
            .order_by(F("computed_at").asc(nulls_first=True))
            .values_list("computed_at", flat=True)
            .first()
        )
        if last is None or last < timezone.now() - DAILY_EVERY:
            segments_refresh_nightly()
        else:
            segments_refresh_volatile()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_BEAT_LOCK])


def segments_refresh_nightly() -> None:
    """Nightly: RFM scores from all orders, then every rule-based segment, and stays of
    contacts merged or erased since are closed."""
    now = timezone.now()
    rfm_refresh(now=now)
    for segment in Segment.objects.filter(
        kind__in=[Kind.PERSONA, Kind.DYNAMIC], state=Segment.State.READY
    ).order_by("-kind", "pk"):
        try:
            segment_refresh(segment=segment, now=now)
        except DatabaseError:
            logger.exception("nightly refresh of segment %s failed", segment.pk)
    _close_gone(now)


def _close_gone(now: datetime) -> None:
    with transaction.atomic():
        rows = _fetch(
            """
            UPDATE leads_segmentmembership sm SET exited_at = %s
            FROM leads_contact c
            WHERE c.id = sm.contact_id AND sm.exited_at IS NULL
              AND (c.merged_into_id IS NOT NULL OR c.erased_at IS NOT NULL)
            RETURNING sm.segment_id, sm.contact_id
            """,
            [now],
        )
        changes = Changes()
        for segment_id, contact_id in rows:
            changes.exited.setdefault(segment_id, []).append(contact_id)
        _counts_and_signals(changes)


# --- RFM ----------------------------------------------------------------------------------------


def rfm_install() -> list[Segment]:
    """The six shipped RFM segments, created when missing (idempotent)."""
    out = []
    for key, name, description in RFM_SEGMENTS:
        segment = Segment.objects.filter(rfm_key=key).first()
        if segment is None:
            segment = Segment.objects.create(
                name=name, description=description, kind=Kind.RFM, rfm_key=key
            )
        out.append(segment)
    return out


_STATS = f"""
    SELECT o.contact_id, max(o.placed_at) AS last_at, count(*) AS orders,
           sum({NET_REVENUE}) AS revenue
    FROM leads_order o JOIN leads_contact c ON c.id = o.contact_id
    WHERE o.status = ANY(%s::text[]) AND c.merged_into_id IS NULL AND c.erased_at IS NULL
      AND {{scope}}
    GROUP BY o.contact_id
"""  # noqa: S608 (fixed fragments)


def _score(column: str, cutoffs: str) -> str:
    """1-5: the lowest tile whose largest value reaches this one (equal values share a
    tile), stretched to five when there were fewer than five customers."""
    tiles = f"greatest(cardinality({cutoffs}), 1)"
    tile = f"least(1 + (SELECT count(*) FROM unnest({cutoffs}) AS x WHERE x < {column}), {tiles})"  # noqa: S608
    return f"ceil(5.0 * {tile} / {tiles})::int"


def rfm_cutoffs_compute(*, now: datetime) -> RfmCutoffs | None:
    """Quintiles of all paying customers with NTILE(5): the largest value of each tile."""
    rows = _fetch(
        f"""
        WITH stats AS ({_STATS.format(scope="true")}),
        tiles AS (
            SELECT last_at, orders, revenue,
                   ntile(5) OVER (ORDER BY last_at, contact_id) AS r,
                   ntile(5) OVER (ORDER BY orders, contact_id) AS f,
                   ntile(5) OVER (ORDER BY revenue, contact_id) AS m
            FROM stats
        )
        SELECT (SELECT count(*) FROM stats),
               ARRAY(SELECT max(last_at) FROM tiles GROUP BY r ORDER BY r),
               ARRAY(SELECT max(orders) FROM tiles GROUP BY f ORDER BY f),
               ARRAY(SELECT max(revenue) FROM tiles GROUP BY m ORDER BY m)
        """,  # noqa: S608
        [PAID_STATUSES],
    )
    customers, recency, frequency, monetary = rows[0]
    if not customers:
        return None
    return RfmCutoffs.objects.create(
        computed_at=now,
        customers=customers,
        recency=recency,
        frequency=frequency,
        monetary=[round(v, 2) for v in monetary],
    )


def _rfm_assign(cutoffs: RfmCutoffs, keys: dict[str, int], scope: Scope) -> Sql:
    stats_scope = scope.sql("o.contact_id")
    scored = f"""
        SELECT s.contact_id,
               {_score("s.last_at", "%s::timestamptz[]")} AS r,
               {_score("s.orders", "%s::int[]")} AS f,
               {_score("s.revenue", "%s::numeric[]")} AS m
        FROM ({_STATS.format(scope=stats_scope.text)}) s
    """  # noqa: S608
    sql = f"""
        SELECT k.segment_id, x.contact_id FROM (
            SELECT contact_id, {RFM_RULES} AS rfm_key FROM ({scored}) q
        ) x JOIN (SELECT unnest(%s::text[]) AS rfm_key, unnest(%s::bigint[]) AS segment_id) k
          ON k.rfm_key = x.rfm_key
    """  # noqa: S608
    # Each score's cutoffs appear three times in its expression (two in `tiles`, one in
    # the count), in the order written above.
    params: list[Any] = []
    for values in (cutoffs.recency, cutoffs.frequency, cutoffs.monetary):
        params += [list(values)] * 3
    params += [PAID_STATUSES, *stats_scope.params, list(keys), list(keys.values())]
    return Sql(sql, params)


def rfm_apply(*, scope: Scope, now: datetime, cutoffs: RfmCutoffs | None = None) -> Changes:
    """RFM memberships of the scope's contacts against the latest cutoffs (computed first
    when there are none yet)."""
    keys = dict(
        Segment.objects.filter(kind=Kind.RFM).exclude(rfm_key="").values_list("rfm_key", "pk")
    )
    if not keys:
        return Changes()
    cutoffs = cutoffs or RfmCutoffs.objects.order_by("-computed_at", "-pk").first()
    if cutoffs is None:
        if scope.ids is not None and not _fetch(
            "SELECT 1 FROM leads_order WHERE contact_id = ANY(%s::bigint[]) LIMIT 1",
            [list(scope.ids)],
        ):
            return Changes()
        cutoffs = rfm_cutoffs_compute(now=now)
        if cutoffs is None:
            return Changes()
        # First use: these contacts now, everyone else in a worker.
        transaction.on_commit(_enqueue_rfm_refresh)
    return _apply(
        segment_ids=list(keys.values()),
        assign=_rfm_assign(cutoffs, keys, scope),
        scope=scope,
        now=now,
        via=SegmentMembership.Via.RFM,
    )


def rfm_refresh(*, now: datetime | None = None) -> Changes:
    """New quintiles from every paid order, then every customer's RFM segment, by ranges."""
    now = now or timezone.now()
    rfm_install()
    with transaction.atomic():
        cutoffs = rfm_cutoffs_compute(now=now)
        stale = RfmCutoffs.objects.all()
        if cutoffs is not None:
            stale = stale.exclude(pk=cutoffs.pk)
        stale.delete()
    changes = Changes()
    keys = list(Segment.objects.filter(kind=Kind.RFM).values_list("pk", flat=True))
    lo, hi = _id_bounds()
    if cutoffs is None:  # no paying customer: nobody is in an RFM segment
        with transaction.atomic():
            changes.merge(
                _apply(segment_ids=keys, assign=_NOBODY, scope=EVERYONE, now=now, via="rfm")
            )
    else:
        for after, up_to in _ranges(lo, hi, 0):
            with transaction.atomic():
                changes.merge(
                    rfm_apply(scope=Scope.between(after, up_to), now=now, cutoffs=cutoffs)
                )
    with transaction.atomic():
        _recount(keys)
        _analyze()
        Segment.objects.filter(pk__in=keys).update(computed_at=now)
    return changes


def _enqueue_rfm_refresh() -> None:
    from leads.tasks_segments import rfm_refresh_task

    try:
        rfm_refresh_task.delay()
    except Exception:  # the nightly refresh catches up
        logger.warning("could not enqueue the RFM refresh", exc_info=True)


# --- Editing -------------------------------------------------------------------------------------


class SegmentConflict(Exception):
    """Someone saved the segment since this edit started."""

    def __init__(self, current: Segment):
        super().__init__("segment changed meanwhile")
        self.current = current


def _clean_fields(
    *, segment: Segment | None, name: str, description: str, kind: str, rules: Any
) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Give the segment a name.")
    elif len(name) > 120:
        errors["name"] = _("Keep the name under 120 characters.")
    if kind not in (Kind.DYNAMIC, Kind.STATIC, Kind.PERSONA):
        errors["kind"] = _("Choose a dynamic segment, a static list or a persona.")
    cleaned_rules: dict[str, Any] = {}
    if kind in (Kind.DYNAMIC, Kind.PERSONA) and not errors.get("kind"):
        try:
            cleaned_rules = rules_clean(rules, for_persona=kind == Kind.PERSONA)
        except ValidationError as error:
            errors.update(error.message_dict)
        if segment is not None and segment.pk in rules_referenced_segments(cleaned_rules):
            errors["rules"] = _("A segment cannot refer to itself.")
    if not errors.get("name") and not errors.get("kind"):
        clash = Segment.objects.annotate(lname=Lower("name")).filter(lname=name.lower(), kind=kind)
        if segment is not None:
            clash = clash.exclude(pk=segment.pk)
        if clash.exists():
            errors["name"] = _("Another segment is called “%(name)s”.") % {"name": name}
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "description": (description or "").strip(),
        "kind": kind,
        "rules": cleaned_rules,
        "volatile": bool(cleaned_rules) and rules_volatile(cleaned_rules),
    }


def segment_create(
    *, name: str, description: str = "", kind: str, rules: Any = None, actor: Any = None
) -> Segment:
    """Create a segment. Rule-based ones start "computing": a worker fills them on commit."""
    fields = _clean_fields(segment=None, name=name, description=description, kind=kind, rules=rules)
    rule_based = fields["kind"] in (Kind.DYNAMIC, Kind.PERSONA)
    with transaction.atomic():
        segment = Segment.objects.create(
            **fields,
            created_by=actor,
            updated_by=actor,
            state=Segment.State.COMPUTING if rule_based else Segment.State.READY,
        )
        if rule_based:
            pk = segment.pk
            transaction.on_commit(lambda: _enqueue_compute(pk))
    return segment


def segment_update(
    *,
    segment: Segment,
    version: int,
    name: str,
    description: str = "",
    rules: Any = None,
    actor: Any = None,
) -> Segment:
    """Save an edit made from `version`. Raises ValidationError naming the wrong field, or
    SegmentConflict when someone saved meanwhile. Changed rules recompute the members."""
    if segment.kind == Kind.RFM:
        raise ValidationError({"kind": _("The shipped RFM segments are computed from orders.")})
    fields = _clean_fields(
        segment=segment, name=name, description=description, kind=segment.kind, rules=rules
    )
    fields.pop("kind")
    rules_changed = segment.is_rule_based and fields["rules"] != segment.rules
    extra: dict[str, Any] = {}
    if rules_changed:
        extra = {"state": Segment.State.COMPUTING, "progress_done": 0, "problem": ""}
    with transaction.atomic():
        updated = Segment.objects.filter(pk=segment.pk, version=version).update(
            **fields,
            **extra,
            updated_by=actor,
            updated_at=timezone.now(),
            version=F("version") + 1,
        )
        if not updated:
            current = Segment.objects.select_related("updated_by").filter(pk=segment.pk).first()
            if current is None:
                raise ValidationError({"name": _("This segment was deleted meanwhile.")})
            raise SegmentConflict(current)
        segment.refresh_from_db()
        if rules_changed:
            pk = segment.pk
            transaction.on_commit(lambda: _enqueue_compute(pk))
    return segment


def segment_delete(*, segment: Segment) -> None:
    """Delete a segment (not a shipped RFM one) with its history; segments whose rules name
    it are flagged, not broken."""
    if segment.kind == Kind.RFM:
        raise ValidationError(_("The shipped RFM segments cannot be deleted."))
    with transaction.atomic():
        pk, name = segment.pk, segment.name
        dependants = [
            s.pk
            for s in Segment.objects.filter(kind__in=[Kind.DYNAMIC]).only("pk", "rules")
            if pk in rules_referenced_segments(s.rules)
        ]
        segment.delete()
        if dependants:
            Segment.objects.filter(pk__in=dependants).update(
                problem=_("Its rules name “%(name)s”, which was deleted: edit the rules.")
                % {"name": name}
            )


# --- What names a segment -------------------------------------------------------------------


def segment_dependants(*, segment: Segment) -> list[Segment]:
    """The dynamic segments whose rules name this one (deleting it flags them): one query."""
    return [
        s
        for s in Segment.objects.filter(kind=Kind.DYNAMIC)
        .only("pk", "name", "rules")
        .order_by(Lower("name"), "pk")
        if segment.pk in rules_referenced_segments(s.rules)
    ]


@dataclass(frozen=True)
class SegmentUse:
    """Something outside the segment rules that names a segment: a journey starting when
    someone enters it, a condition testing it, … `kind` says what it is ("journey")."""

    kind: str
    name: str
    url: str = ""


SegmentUseFinder = Callable[[Segment], Iterable[SegmentUse]]
_use_finders: list[SegmentUseFinder] = []


def segment_uses_register(finder: SegmentUseFinder) -> SegmentUseFinder:
    """Other apps (leads imports none of them) tell what of theirs names a segment, so the
    delete confirmation can list it: register in `AppConfig.ready`, as receivers are
    connected. Each finder answers in a fixed number of queries."""
    if finder not in _use_finders:
        _use_finders.append(finder)
    return finder


def segment_uses(*, segment: Segment) -> list[SegmentUse]:
    """Everything registered finders know to name this segment, by kind, then name."""
    uses = [use for finder in list(_use_finders) for use in finder(segment)]
    return sorted(uses, key=lambda use: (use.kind, use.name.lower()))


def segment_compute_restart(*, segment: Segment) -> None:
    """Start the full computation again (from the page, after a failure)."""
    if not segment.is_rule_based:
        return
    with transaction.atomic():
        Segment.objects.filter(pk=segment.pk).update(
            state=Segment.State.COMPUTING, progress_done=0, updated_at=timezone.now()
        )
        pk = segment.pk
        transaction.on_commit(lambda: _enqueue_compute(pk))


def _enqueue_compute(segment_id: int) -> None:
    from leads.tasks_segments import segment_compute_task

    try:
        segment_compute_task.delay(segment_id)
    except Exception:  # the broker is down: the beat picks up segments left computing
        logger.warning("could not enqueue the computation of segment %s", segment_id, exc_info=True)


# --- Static lists --------------------------------------------------------------------------------


def _static(segment: Segment) -> None:
    if segment.kind != Kind.STATIC:
        raise ValidationError(_("Only static lists take contacts by hand."))


INLINE_EVALUATE = 1000  # moved contacts re-evaluated in the request; more go to a worker


def _after_static_change(contact_ids: list[int]) -> None:
    """Dynamic segments may name the list: re-evaluate the moved contacts after commit, at
    once for a few (a click on a contact page), in a worker for many (a CSV, a bulk add)."""
    if not contact_ids:
        return
    ids = sorted(contact_ids)

    def react() -> None:
        if len(ids) <= INLINE_EVALUATE:
            try:
                with transaction.atomic():
                    segments_evaluate(contact_ids=ids)
            except DatabaseError:
                logger.exception("segment re-evaluation after a list change failed")
            return
        from leads.tasks_segments import segments_evaluate_task

        try:
            for start in range(0, len(ids), 5000):
                segments_evaluate_task.delay(ids[start : start + 5000])
        except Exception:  # the nightly refresh catches up
            logger.warning("could not enqueue a segment re-evaluation", exc_info=True)

    transaction.on_commit(react)


def _insert_members(segment: Segment, select: Sql, via: str, actor: Any) -> list[int]:
    """Insert stays for the live contacts whose ids `select` returns; ids of those new."""
    now = timezone.now()
    rows = _fetch(
        f"""
        INSERT INTO leads_segmentmembership (segment_id, contact_id, entered_at, via, added_by_id)
        SELECT %s, c.id, %s, %s, %s FROM leads_contact c
        WHERE c.id IN ({select.text}) AND c.merged_into_id IS NULL AND c.erased_at IS NULL
        ON CONFLICT (segment_id, contact_id) WHERE exited_at IS NULL DO NOTHING
        RETURNING contact_id
        """,  # noqa: S608
        [segment.pk, now, via, getattr(actor, "pk", None), *select.params],
    )
    ids = [row[0] for row in rows]
    changes = Changes(entered={segment.pk: ids} if ids else {})
    _counts_and_signals(changes)
    _after_static_change(ids)
    return ids


def static_list_add(
    *, segment: Segment, contact_ids: Iterable[int], actor: Any = None, via: str = "hand"
) -> list[int]:
    """Add contacts to a static list; returns the ids that were not in it yet."""
    _static(segment)
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    with transaction.atomic():
        return _insert_members(segment, Sql("SELECT unnest(%s::bigint[])", [ids]), via, actor)


def static_list_add_filtered(*, segment: Segment, filters: Any, actor: Any = None) -> list[int]:
    """Add every contact the contact list shows for these filters (set-based)."""
    from leads.selectors import contact_list

    _static(segment)
    query = contact_list(filters=filters).values("pk").query
    text, params = query.sql_with_params()
    with transaction.atomic():
        return _insert_members(segment, Sql(text, list(params)), SegmentMembership.Via.BULK, actor)


@dataclass(frozen=True)
class FilteredAdd:
    """What adding the contact list's filtered contacts to a static list did."""

    segment: Segment
    created: bool  # the list was made for them
    matched: int  # contacts the filters matched
    added: int  # of those, the ones not in the list before

    @property
    def already(self) -> int:
        """Matched contacts that were members already (counted once, not added again)."""
        return max(self.matched - self.added, 0)


def static_list_fill_filtered(
    *, filters: Any, segment: Segment | None = None, name: str = "", actor: Any = None
) -> FilteredAdd:
    """Everyone the contact list shows for these filters into a static list: `segment`, or
    a new static list called `name`, in one transaction with one INSERT … SELECT
    (`static_list_add_filtered`). ValidationError when nothing matches (no list is made
    then), when the list is not static, or when the new name is taken."""
    from leads.selectors import contact_list

    if segment is not None:
        _static(segment)
    with transaction.atomic():
        matched = contact_list(filters=filters).count()
        if not matched:
            raise ValidationError(
                _("No contact matches these filters, so there is nobody to add."), code="empty"
            )
        created = segment is None
        if segment is None:
            segment = segment_create(name=name, kind=Kind.STATIC, actor=actor)
        added = static_list_add_filtered(segment=segment, filters=filters, actor=actor)
    return FilteredAdd(segment=segment, created=created, matched=matched, added=len(added))


def static_list_remove(
    *, segment: Segment, contact_ids: Iterable[int], actor: Any = None
) -> list[int]:
    """Take contacts out of a static list (their stay is closed, history kept)."""
    _static(segment)
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    with transaction.atomic():
        rows = _fetch(
            """
            UPDATE leads_segmentmembership SET exited_at = %s
            WHERE segment_id = %s AND exited_at IS NULL AND contact_id = ANY(%s::bigint[])
            RETURNING contact_id
            """,
            [timezone.now(), segment.pk, ids],
        )
        removed = [row[0] for row in rows]
        _counts_and_signals(Changes(exited={segment.pk: removed} if removed else {}))
        _after_static_change(removed)
    return removed


@dataclass
class CsvResult:
    rows: int = 0
    added: int = 0
    already: int = 0
    unknown: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def _emails_from_csv(data: bytes) -> tuple[int, list[str], list[str]]:
    """(rows, e-mails, invalid values) from a CSV: the column named like "email", or the
    first column; a header row is recognised and skipped."""
    if len(data) > MAX_CSV_BYTES:
        raise ValidationError(
            {
                "file": _("The file is larger than %(mb)s MB.")
                % {"mb": MAX_CSV_BYTES // 1024 // 1024}
            }
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": _("Save the file as UTF-8 CSV.")}) from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    column = 0
    emails: list[str] = []
    invalid: list[str] = []
    rows = 0
    for index, row in enumerate(reader):
        if not row or not any(cell.strip() for cell in row):
            continue
        if index == 0:
            lowered = [cell.strip().lower() for cell in row]
            named = [
                i
                for i, cell in enumerate(lowered)
                if cell in ("email", "e-mail", "email address", "mail")
            ]
            if named or not any("@" in cell for cell in lowered):
                column = named[0] if named else 0
                continue
        rows += 1
        if rows > MAX_CSV_ROWS:
            raise ValidationError({"file": _("At most %(n)s rows per file.") % {"n": MAX_CSV_ROWS}})
        value = row[column].strip() if column < len(row) else ""
        if "@" not in value or len(value) > 254:
            invalid.append(value)
        else:
            emails.append(value.lower())
    if not rows:
        raise ValidationError({"file": _("The file has no e-mail addresses.")})
    return rows, emails, invalid


def static_list_upload(*, segment: Segment, data: bytes, actor: Any = None) -> CsvResult:
    """Add the contacts of a CSV of e-mail addresses; unknown addresses are reported."""
    _static(segment)
    rows, emails, invalid = _emails_from_csv(data)
    wanted = sorted(set(emails))
    found: dict[str, int] = dict(
        Identity.objects.filter(kind=Identity.Kind.EMAIL, value__in=wanted).values_list(
            "value", "contact_id"
        )
    )
    missing = [e for e in wanted if e not in found]
    if missing:
        for email, pk in (
            Contact.objects.annotate(lemail=Lower("email"))
            .filter(lemail__in=missing, merged_into__isnull=True, erased_at__isnull=True)
            .values_list("lemail", "pk")
        ):
            found.setdefault(email, pk)
    result = CsvResult(rows=rows, invalid=invalid[:100])
    result.unknown = [e for e in wanted if e not in found]
    ids = sorted(set(found.values()))
    added = static_list_add(segment=segment, contact_ids=ids, actor=actor, via="csv")
    result.added = len(added)
    result.already = len(ids) - len(added)
    return result


# --- Merges ----------------------------------------------------------------------------------------


@receiver(signals.contacts_merged, dispatch_uid="segments_contacts_merged")
def segments_contacts_merged(sender: Any, survivor_id: int, merged_id: int, **kwargs: Any) -> None:
    """The merged contact's static-list stays go to the survivor; every stay of the merged
    one closes; the survivor's rule-based memberships are evaluated on its merged record."""
    now = timezone.now()
    with transaction.atomic():
        moved = _fetch(
            """
            INSERT INTO leads_segmentmembership (segment_id, contact_id, entered_at, via)
            SELECT sm.segment_id, %s, %s, 'merge' FROM leads_segmentmembership sm
            JOIN leads_segment s ON s.id = sm.segment_id
            WHERE sm.contact_id = %s AND sm.exited_at IS NULL AND s.kind = 'static'
            ON CONFLICT (segment_id, contact_id) WHERE exited_at IS NULL DO NOTHING
            RETURNING segment_id, contact_id
            """,
            [survivor_id, now, merged_id],
        )
        closed = _fetch(
            """
            UPDATE leads_segmentmembership SET exited_at = %s
            WHERE contact_id = %s AND exited_at IS NULL RETURNING segment_id, contact_id
            """,
            [now, merged_id],
        )
        changes = Changes()
        for segment_id, contact_id in moved:
            changes.entered.setdefault(segment_id, []).append(contact_id)
        for segment_id, contact_id in closed:
            changes.exited.setdefault(segment_id, []).append(contact_id)
        _counts_and_signals(changes)
        segments_evaluate(contact_ids=[survivor_id], now=now)


__all__ = [
    "RFM_SEGMENTS",
    "Changes",
    "CsvResult",
    "FilteredAdd",
    "SegmentConflict",
    "SegmentUse",
    "rfm_apply",
    "rfm_install",
    "rfm_refresh",
    "segment_apply_rules",
    "segment_compute",
    "segment_create",
    "segment_delete",
    "segment_dependants",
    "segment_refresh",
    "segment_update",
    "segment_uses",
    "segment_uses_register",
    "segments_evaluate",
    "segments_refresh_nightly",
    "segments_refresh_volatile",
    "static_list_add",
    "static_list_add_filtered",
    "static_list_fill_filtered",
    "static_list_remove",
    "static_list_upload",
]
