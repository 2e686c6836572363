"""Engagement KPIs of the dashboards: e-mail and SMS rates, journey and cadence results, speed
to lead, NPS and CSAT. Each function takes one `Filters` and returns plain dataclasses.

Common rules (the contract the dashboards show):
- **Period**: `start` to `end` inclusive, whole days in the reporting time zone
  (`settings.GROWTH_REPORTING_TIME_ZONE`), bounded like the rollups:
  `(day::timestamp AT TIME ZONE tz)` up to the next day's midnight, excluded.
- **Channel / source / campaign** select contacts by their first touch (`source_channel`,
  `first_touch.utm_campaign`), as the sales rollups do; **segment** (or persona) selects its
  current members (open memberships): membership now, not at the time of the message.
- A **rate** is a fraction 0-1 and is None when its denominator is 0 (the page shows "—");
  NPS is in points (-100 to 100) and CSAT in percent (0 to 100).
- Each function is a fixed number of aggregate queries (the docstrings say how many),
  whatever the number of rows; Python only merges grouped rows and divides.
- Call again with `filters.previous()` for the comparison period.

Speed to lead and the cadence figures use the team board's definitions
(`cadences.selectors_team`: its period, SLA and bucket helpers): nothing may import
analytics, so the shared definitions live there and these functions add the dashboard
filters. The journey figures follow the journey results page
(`automations.selectors_journeys`), the survey thresholds `automations.services.surveys`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.postgres.fields import ArrayField
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
)
from django.db.models.functions import Extract
from django.utils import timezone

from analytics.filters import Filters
from analytics.services.rollups import NET, PLACED, reporting_zone
from automations.models import Survey
from automations.models.delivery import MESSAGE_CHANNELS
from automations.selectors_journeys import two_proportion_p
from automations.services.surveys import CSAT_SATISFIED_MIN, DETRACTOR_MAX, PROMOTER_MIN
from cadences.models import Cadence, Enrollment, Touch
from cadences.selectors_team import (
    SIGNIFICANT,
    SPEED_BUCKETS,
    BoardScope,
    in_period,
    sla_counts,
    speed_bucket_counts,
)
from growth.replica import read_connection
from leads.models import SegmentMembership

E = Enrollment
CHANNELS = [value for value, _label in MESSAGE_CHANNELS]  # e-mail, SMS: messages to people
# What Twilio does not report for an SMS (no opens, clicks or complaints; an undelivered SMS
# is "failed", never "bounced"): shown as "—", not as 0 %.
SMS_UNTRACKED = ("opened", "clicked", "bounced", "complained")
# An opt-out is credited to the last message of that channel sent before it, when it came
# within this time (the unsubscribe link names the contact, not the message).
UNSUBSCRIBE_WINDOW = timedelta(days=7)
# A goal order may be recorded a little after the goal event ended the run (the journey
# results page allows the same).
GOAL_GRACE = timedelta(hours=1)

# --- Period and contact filters ----------------------------------------------------------------

# Period bounds in SQL, as the rollups bound a day (params: start, end dates and tz).
PERIOD_START = "(%(start)s::date::timestamp AT TIME ZONE %(tz)s)"
PERIOD_END = "((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s)"


def _in_period_sql(column: str) -> str:
    return f"{column} >= {PERIOD_START} AND {column} < {PERIOD_END}"


def _params(filters: Filters, **more: Any) -> dict[str, Any]:
    return {"start": filters.start, "end": filters.end, "tz": reporting_zone().key, **more}


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The midnight that starts `day` in `zone`, read as PostgreSQL reads
    `day::timestamp AT TIME ZONE zone`: a midnight a DST change skips takes the offset before
    the change, one it repeats is the later instant. So the ORM and SQL selectors cut days
    at the same instants."""
    naive = datetime.combine(day, dtime.min)
    first, later = naive.replace(tzinfo=zone), naive.replace(tzinfo=zone, fold=1)
    repeated = (
        first.utcoffset() != later.utcoffset()
        and first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive
    )
    return (later if repeated else first).astimezone(UTC)


def _board_scope(filters: Filters) -> BoardScope:
    """The team board's scope for the period: [first midnight, midnight after the last day)."""
    zone = reporting_zone()
    return BoardScope(
        start=local_midnight(filters.start, zone),
        end=local_midnight(filters.end + timedelta(days=1), zone),
        now=timezone.now(),
        time_zone=zone,
    )


def _source_like(source: str) -> str:
    escaped = source.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped} / %"


# `column` names the contact of the row; every value is a parameter.
CONTACT_SQL = " AND EXISTS (SELECT 1 FROM leads_contact ct WHERE ct.id = {column} AND {conditions})"
MEMBER_SQL = (
    " AND EXISTS (SELECT 1 FROM leads_segmentmembership sm WHERE sm.exited_at IS NULL"
    " AND sm.segment_id = %(f_segment)s AND sm.contact_id = {column})"
)


def _contacts_sql(filters: Filters, column: str) -> tuple[str, dict[str, Any]]:
    """`AND …` conditions keeping rows whose contact (`column`) the filters select. Must
    select what `_contacts_q` selects (a test holds them together)."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    if filters.channel:
        conditions.append("ct.source_channel = %(f_channel)s")
        params["f_channel"] = filters.channel
    if filters.source:
        conditions.append(
            "(ct.source_channel = %(f_source)s OR ct.source_channel LIKE %(f_source_like)s)"
        )
        params["f_source"], params["f_source_like"] = filters.source, _source_like(filters.source)
    if filters.campaign:
        conditions.append("ct.first_touch->>'utm_campaign' = %(f_campaign)s")
        params["f_campaign"] = filters.campaign
    sql = ""
    if conditions:
        sql += CONTACT_SQL.format(column=column, conditions=" AND ".join(conditions))
    if filters.segment is not None:
        sql += MEMBER_SQL.format(column=column)
        params["f_segment"] = filters.segment
    return sql, params


def _contacts_q(filters: Filters, path: str = "contact") -> Q:
    """The same selection as `_contacts_sql`, for querysets of a model with a `path` foreign
    key to the contact ("" for Contact itself)."""
    prefix = f"{path}__" if path else ""
    q = Q()
    if filters.channel:
        q &= Q(**{f"{prefix}source_channel": filters.channel})
    if filters.source:
        q &= Q(**{f"{prefix}source_channel": filters.source}) | Q(
            **{f"{prefix}source_channel__startswith": f"{filters.source} / "}
        )
    if filters.campaign:
        q &= Q(**{f"{prefix}first_touch__utm_campaign": filters.campaign})
    if filters.segment is not None:
        members = SegmentMembership.objects.filter(
            segment_id=filters.segment,
            contact_id=OuterRef(f"{path}_id" if path else "pk"),
            exited_at__isnull=True,
        )
        q &= Q(Exists(members))
    return q


def _ratio(part: int | None, whole: int | None) -> float | None:
    return part / whole if part is not None and whole else None


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with read_connection().cursor() as cursor:  # the replica inside a dashboard
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- 1. E-mail and SMS rates -------------------------------------------------------------------

# Expressions over automations_delivery `d`.
OPENED = "(d.opened_at IS NOT NULL OR d.clicked_at IS NOT NULL)"  # a click implies an open
# Opt-outs credited to a message: for each contact whose consent for a channel is now denied,
# withdrawn in the period (or within the window after it), the last message of that channel
# sent to them at or before the withdrawal, when it was sent within the window before it.
# Our one-click / preferences links and SMS STOP name the contact, not the message; the
# provider's own unsubscribe event marks the message itself (status "unsubscribed").
CREDITED_OPT_OUTS = f"""
SELECT last.id
FROM leads_consent c
CROSS JOIN LATERAL (
    SELECT n.id, n.sent_at FROM automations_delivery n
    WHERE n.contact_id = c.contact_id AND n.channel = c.channel AND n.sent_at <= c.changed_at
    ORDER BY n.sent_at DESC, n.id DESC
    LIMIT 1
) last
WHERE c.status = 'denied' AND c.channel = ANY(%(channels)s)
  AND c.changed_at >= {PERIOD_START} AND c.changed_at < {PERIOD_END} + %(window)s
  AND last.sent_at > c.changed_at - %(window)s
"""  # noqa: S608 (constants only)

# Arrived: the provider confirmed delivery, or the contact opened, clicked, unsubscribed or
# complained (each proves it arrived), so every rate's numerator is part of its denominator.
MESSAGE_SQL = f"""
WITH credited AS ({CREDITED_OPT_OUTS}),
m AS (
    SELECT d.channel, {{group_columns}}, d.status,
           {OPENED} AS opened, d.clicked_at IS NOT NULL AS clicked,
           (d.status = 'unsubscribed' OR credited.id IS NOT NULL) AS unsubscribed,
           d.status = 'complained' AS complained,
           (d.delivered_at IS NOT NULL OR d.opened_at IS NOT NULL OR d.clicked_at IS NOT NULL)
               AS confirmed
    FROM automations_delivery d
    LEFT JOIN credited ON credited.id = d.id
    LEFT JOIN automations_journey j ON j.id = d.journey_id  -- dropped when unused (a key)
    WHERE {_in_period_sql("d.sent_at")} AND d.channel = ANY(%(channels)s)
      AND d.contact_id IS NOT NULL {{contacts}}
)
SELECT channel, {{group_names}}, count(*),
       count(*) FILTER (WHERE confirmed OR unsubscribed OR complained),
       count(*) FILTER (WHERE opened), count(*) FILTER (WHERE clicked),
       count(*) FILTER (WHERE unsubscribed), count(*) FILTER (WHERE complained),
       count(*) FILTER (WHERE status = 'bounced'), count(*) FILTER (WHERE status = 'failed')
FROM m
GROUP BY channel, {{group_names}}
"""  # noqa: S608 (constants only)
COUNT_NAMES = (
    "sent",
    "delivered",
    "opened",
    "clicked",
    "unsubscribed",
    "complained",
    "bounced",
    "failed",
)


@dataclass(frozen=True)
class MessageRates:
    """E-mail or SMS messages sent in the period (the provider call made: `sent_at` in the
    period; test sends and webhooks left out), and what became of them, whenever it happened.

    - sent: sends made; delivered: of those, confirmed by the provider, or opened, clicked,
      unsubscribed or complained about; opened: opened or clicked (e-mail only);
      clicked: a link clicked (e-mail only); unsubscribed: the contact opted out of the
      channel on it (see `CREDITED_OPT_OUTS`); complained: marked as spam (e-mail only);
      bounced: bounced (e-mail only); failed: the provider refused or could not deliver it.
    - delivered_rate = delivered / sent; open_rate, click_rate, unsubscribe_rate and
      complaint_rate are / delivered; bounce_rate and failure_rate are / sent.
    None for a count the channel does not report (SMS opens, clicks, bounces, complaints).

    Drill down: the outbox (`deliveries`, ?channel=…&status=…); with a journey,
    `journey_results` of `journey_id`.
    """

    channel: str
    sent: int
    delivered: int
    opened: int | None
    clicked: int | None
    unsubscribed: int
    complained: int | None
    bounced: int | None
    failed: int
    delivered_rate: float | None
    open_rate: float | None
    click_rate: float | None
    unsubscribe_rate: float | None
    complaint_rate: float | None
    bounce_rate: float | None
    failure_rate: float | None
    journey_id: int | None = None  # by journey: the journey, None for messages of none
    journey_name: str = ""
    origin: str = ""  # by journey: for messages of no journey, what sent them ("cadence", …)


def _message_rates(channel: str, counts: dict[str, int], **where: Any) -> MessageRates:
    values: dict[str, int | None] = dict(counts)
    if channel != "email":
        values.update(dict.fromkeys(SMS_UNTRACKED))
    sent, delivered = counts["sent"], counts["delivered"]
    return MessageRates(
        channel=channel,
        sent=sent,
        delivered=delivered,
        opened=values["opened"],
        clicked=values["clicked"],
        unsubscribed=counts["unsubscribed"],
        complained=values["complained"],
        bounced=values["bounced"],
        failed=counts["failed"],
        delivered_rate=_ratio(delivered, sent),
        open_rate=_ratio(values["opened"], delivered),
        click_rate=_ratio(values["clicked"], delivered),
        unsubscribe_rate=_ratio(counts["unsubscribed"], delivered),
        complaint_rate=_ratio(values["complained"], delivered),
        bounce_rate=_ratio(values["bounced"], sent),
        failure_rate=_ratio(counts["failed"], sent),
        **where,
    )


def _message_groups(
    filters: Filters, group_columns: str, group_names: str
) -> list[tuple[Any, ...]]:
    contacts, contact_params = _contacts_sql(filters, "d.contact_id")
    sql = MESSAGE_SQL.format(
        group_columns=group_columns, group_names=group_names, contacts=contacts
    )
    return _fetch(
        sql,
        _params(filters, channels=CHANNELS, window=UNSUBSCRIBE_WINDOW, **contact_params),
    )


def message_rates(filters: Filters) -> list[MessageRates]:
    """One row per channel, e-mail then SMS, always both (zeros and "—" when nothing was
    sent). One query."""
    found = {
        row[0]: dict(zip(COUNT_NAMES, row[2:], strict=True))
        for row in _message_groups(filters, "NULL AS all_of_them", "all_of_them")
    }
    empty = dict.fromkeys(COUNT_NAMES, 0)
    return [_message_rates(channel, found.get(channel, empty)) for channel in CHANNELS]


def message_rates_by_journey(filters: Filters) -> list[MessageRates]:
    """`message_rates` split by the journey that sent each message: a row per journey and
    channel with sends (by journey name, e-mail first), then the messages of no journey per
    origin ("cadence", "sms-help", …). The rows add up to `message_rates`. One query."""
    rows = _message_groups(
        filters,
        "d.journey_id, COALESCE(j.name, '') AS journey_name,"
        " CASE WHEN d.journey_id IS NULL THEN d.origin ELSE '' END AS origin",
        "journey_id, journey_name, origin",
    )
    result = [
        _message_rates(
            row[0],
            dict(zip(COUNT_NAMES, row[4:], strict=True)),
            journey_id=row[1],
            journey_name=row[2],
            origin=row[3],
        )
        for row in rows
    ]
    result.sort(key=lambda r: (r.journey_id is None, r.journey_name, r.origin, r.channel))
    return result


# --- 2. Journeys -------------------------------------------------------------------------------

JOURNEY_SQL = f"""
WITH chosen AS (
    SELECT r.journey_id, r.contact_id, r.status, r.started_at,
           COALESCE(r.ended_at, %(now)s)
               + CASE WHEN r.status = 'converted' THEN %(grace)s ELSE interval '0' END AS until
    FROM automations_journeyrun r
    WHERE {_in_period_sql("r.started_at")} {{run_contacts}}
),
runs AS (
    SELECT journey_id, count(*) AS started,
           count(*) FILTER (WHERE status = 'converted') AS converted,
           count(*) FILTER (WHERE status IN ('waiting', 'queued')) AS under_way
    FROM chosen GROUP BY journey_id
),
revenue AS (
    SELECT x.journey_id, count(*) AS orders, sum(x.net) AS net
    FROM (
        SELECT DISTINCT r.journey_id, o.id, {NET} AS net
        FROM chosen r
        JOIN leads_order o ON o.contact_id = r.contact_id
         AND o.placed_at >= r.started_at AND o.placed_at <= r.until
        WHERE {PLACED}
    ) x
    GROUP BY x.journey_id
),
messages AS (
    SELECT d.journey_id, count(*) AS sent,
           count(*) FILTER (WHERE d.clicked_at IS NOT NULL) AS clicked
    FROM automations_delivery d
    WHERE d.journey_id IS NOT NULL AND {_in_period_sql("d.sent_at")}
      AND d.channel = ANY(%(channels)s) AND d.contact_id IS NOT NULL {{message_contacts}}
    GROUP BY d.journey_id
)
SELECT j.id, j.name, j.status, COALESCE(runs.started, 0), COALESCE(runs.converted, 0),
       COALESCE(runs.under_way, 0), COALESCE(messages.sent, 0), COALESCE(messages.clicked, 0),
       COALESCE(revenue.orders, 0), COALESCE(revenue.net, 0)
FROM automations_journey j
LEFT JOIN runs ON runs.journey_id = j.id
LEFT JOIN messages ON messages.journey_id = j.id
LEFT JOIN revenue ON revenue.journey_id = j.id
WHERE j.live_id IS NOT NULL OR runs.journey_id IS NOT NULL OR messages.journey_id IS NOT NULL
ORDER BY j.name, j.id
"""  # noqa: S608 (constants only)


@dataclass(frozen=True)
class JourneyPerformance:
    """One journey. Runs are those **started in the period**, followed to today:

    - started: runs started; converted: of those, runs that reached the goal (so far);
      under_way: still waiting in the journey (the rate may still rise);
      conversion_rate = converted / started.
    - sent, clicked: e-mails and SMS the journey **sent in the period** and those of them
      clicked (the basis of `message_rates_by_journey`, so the figures match).
    - orders, revenue: placed orders of the run contacts placed during their run (start to
      end; to the goal plus an hour for a converted run; to now for a run under way), each
      order once per journey; revenue is their net (refunds and cancellations out) in the
      base currency, like the sales rollups. Influence, not attribution: an order during
      runs of two journeys counts in both.

    Drill down: `journey_results` / `journey_builder` of `journey_id`.
    """

    journey_id: int
    name: str
    status: str
    started: int
    converted: int
    under_way: int
    conversion_rate: float | None
    sent: int
    clicked: int
    orders: int
    revenue: Decimal


def journey_performance(filters: Filters) -> list[JourneyPerformance]:
    """Every published journey, and any other with runs or messages in the period, by name.
    One query."""
    run_contacts, contact_params = _contacts_sql(filters, "r.contact_id")
    message_contacts, _same = _contacts_sql(filters, "d.contact_id")
    sql = JOURNEY_SQL.format(run_contacts=run_contacts, message_contacts=message_contacts)
    params = _params(
        filters, now=timezone.now(), grace=GOAL_GRACE, channels=CHANNELS, **contact_params
    )
    return [
        JourneyPerformance(
            journey_id=pk,
            name=name,
            status=status,
            started=started,
            converted=converted,
            under_way=under_way,
            conversion_rate=_ratio(converted, started),
            sent=sent,
            clicked=clicked,
            orders=orders,
            revenue=Decimal(revenue),
        )
        for pk, name, status, started, converted, under_way, sent, clicked, orders, revenue in (
            _fetch(sql, params)
        )
    ]


# --- 3. Cadences -------------------------------------------------------------------------------

CONVERTED = (E.Outcome.QUALIFIED, E.Outcome.ORDERED)


@dataclass
class CadencePerformance:
    """One cadence: the enrollments that **started in the period**, followed to today.

    - started; contacted: touched at least once (a first touch recorded);
      replied, qualified (SQL / meeting booked), ordered: enrollments that ended so;
      meetings: with at least one "meeting booked" touch (as on the team board);
      converted = qualified + ordered (the lead reached SQL or bought);
      outcomes: every outcome's count ("" = not ended yet).
    - contacted_rate, reply_rate, meeting_rate, conversion_rate: / started;
      qualified_rate = qualified / started is the team board's A/B figure.
    - A/B: cadences with the same rank and rules split the same leads by weight;
      `ab_group` numbers such a group (None when a cadence competes with none). In a group,
      the best converter is the `reference` and the others carry the two-sided `p_value`
      of their difference from it (two-proportion z-test); `significant` below 0.05.

    Drill down: `cadence_detail` of `cadence_id`.
    """

    cadence_id: int
    name: str
    status: str
    rank: int
    weight: int
    started: int = 0
    contacted: int = 0
    replied: int = 0
    meetings: int = 0
    qualified: int = 0
    ordered: int = 0
    converted: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    contacted_rate: float | None = None
    reply_rate: float | None = None
    meeting_rate: float | None = None
    qualified_rate: float | None = None
    conversion_rate: float | None = None
    ab_group: int | None = None
    reference: bool = False
    p_value: float | None = None
    significant: bool = False


def cadence_performance(filters: Filters) -> list[CadencePerformance]:
    """Every active or paused cadence, and any other with enrollments in the period, by rank
    and name. Two queries: the enrollments grouped by cadence, and the cadences."""
    scope = _board_scope(filters)
    meeting = Exists(
        Touch.objects.filter(enrollment_id=OuterRef("pk"), disposition=Touch.Disposition.MEETING)
    )
    outcomes = {f"o_{value}": Count("id", filter=Q(outcome=value)) for value in E.Outcome.values}
    groups = (
        E.objects.order_by()
        .filter(in_period("started_at", scope), _contacts_q(filters))
        .values("cadence_id")
        .annotate(
            started=Count("id"),
            contacted=Count("id", filter=Q(first_touch_at__isnull=False)),
            meetings=Count("id", filter=Q(meeting)),
            open=Count("id", filter=Q(outcome="")),
            **outcomes,
        )
    )
    counts: dict[int, dict[str, Any]] = {g["cadence_id"]: dict(g) for g in groups}
    cadences = (
        Cadence.objects.filter(
            Q(status__in=[Cadence.Status.ACTIVE, Cadence.Status.PAUSED]) | Q(pk__in=list(counts))
        )
        .order_by("rank", "name")
        .values("id", "name", "status", "rank", "weight", "rules")
    )
    rows: list[CadencePerformance] = []
    ab_keys: list[tuple[int, str]] = []
    for c in cadences:
        rows.append(CadencePerformance(c["id"], c["name"], c["status"], c["rank"], c["weight"]))
        ab_keys.append((c["rank"], json.dumps(c["rules"], sort_keys=True)))
    for row in rows:
        _cadence_counts(row, counts.get(row.cadence_id))
    _cadence_ab(rows, ab_keys)
    return rows


def _cadence_counts(row: CadencePerformance, group: dict[str, Any] | None) -> None:
    if group is None:
        row.outcomes = dict.fromkeys(["", *E.Outcome.values], 0)
        return
    row.started, row.contacted, row.meetings = (
        group["started"],
        group["contacted"],
        group["meetings"],
    )
    row.outcomes = {"": group["open"]} | {v: group[f"o_{v}"] for v in E.Outcome.values}
    row.replied = row.outcomes[E.Outcome.REPLIED]
    row.qualified = row.outcomes[E.Outcome.QUALIFIED]
    row.ordered = row.outcomes[E.Outcome.ORDERED]
    row.converted = sum(row.outcomes[v] for v in CONVERTED)
    row.contacted_rate = _ratio(row.contacted, row.started)
    row.reply_rate = _ratio(row.replied, row.started)
    row.meeting_rate = _ratio(row.meetings, row.started)
    row.qualified_rate = _ratio(row.qualified, row.started)
    row.conversion_rate = _ratio(row.converted, row.started)


def _cadence_ab(rows: list[CadencePerformance], keys: list[tuple[int, str]]) -> None:
    """Number the groups of 2+ cadences competing for the same leads and test each member
    against the group's best converter (on a tie, the one with more leads, then the first)."""
    members: dict[tuple[int, str], list[CadencePerformance]] = {}
    for row, key in zip(rows, keys, strict=True):
        members.setdefault(key, []).append(row)
    number = 0
    for group in members.values():
        if len(group) < 2:
            continue
        number += 1
        _rank, best = max(
            ((r.conversion_rate or 0.0, r.started, -i), r) for i, r in enumerate(group)
        )
        for row in group:
            row.ab_group = number
            if row is best:
                row.reference = True
            else:
                row.p_value = two_proportion_p(
                    best.converted, best.started, row.converted, row.started
                )
                row.significant = row.p_value is not None and row.p_value < SIGNIFICANT


# --- 4. Speed to lead --------------------------------------------------------------------------


class _Percentiles(Aggregate):
    """Exact median, p75 and p90 (PostgreSQL's interpolating PERCENTILE_CONT, as the team
    board's median) in one sort."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(ARRAY[0.5, 0.75, 0.9]) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = ArrayField(FloatField())


@dataclass(frozen=True)
class SpeedBucketCount:
    key: str  # m5, m15, m30, m60, d1, later, untouched
    label: str
    leads: int
    share: float | None  # of the leads qualified in the period
    seed_reach_rate: float | None  # % chance to reach the lead live (seed 002), first five


@dataclass(frozen=True)
class SpeedToLead:
    """Leads that **qualified (became MQL) in the period**, and their first rep touch:

    - qualified; touched: first touch recorded; untouched: none yet ("never");
    - median_minutes, p75_minutes, p90_minutes: qualification to first touch, in minutes,
      of the touched leads (None when none was touched);
    - SLA (as on the team board): of the leads with an SLA deadline (`sla_due_at`: the SLA
      policy's minutes counted in business hours), `sla_decided` are touched or past the
      deadline untouched, `sla_hit` were touched by it; sla_rate = sla_hit / sla_decided;
    - buckets: ≤ 5 min, ≤ 15, ≤ 30, ≤ 60, ≤ 1 day, later, never (each edge inclusive),
      with the seed's live-reach rate of the first five; shares / qualified.

    Drill down: the team board (`team`) with the same period.
    """

    qualified: int
    touched: int
    untouched: int
    median_minutes: float | None
    p75_minutes: float | None
    p90_minutes: float | None
    sla_hit: int
    sla_decided: int
    sla_missed: int
    sla_rate: float | None
    buckets: list[SpeedBucketCount]


def speed_to_lead(filters: Filters) -> SpeedToLead:
    """One aggregate query over the enrollments, with the team board's buckets, period and
    SLA counts plus the dashboard filters and the p75 / p90."""
    scope = _board_scope(filters)
    counts = speed_bucket_counts()
    delay = ExpressionWrapper(F("first_touch_at") - F("qualified_at"), output_field=DurationField())
    result = (
        E.objects.order_by()
        .filter(in_period("qualified_at", scope), _contacts_q(filters))
        .aggregate(
            qualified=Count("id"),
            # Untouched leads have no delay (NULL), which the percentiles leave out.
            minutes=_Percentiles(Extract(delay, "epoch") / 60.0),
            **counts,
            **sla_counts(scope),
        )
    )
    qualified = result["qualified"]
    median, p75, p90 = result["minutes"] or (None, None, None)
    return SpeedToLead(
        qualified=qualified,
        touched=qualified - result["untouched"],
        untouched=result["untouched"],
        median_minutes=median,
        p75_minutes=p75,
        p90_minutes=p90,
        sla_hit=result["sla_hit"],
        sla_decided=result["sla_decided"],
        sla_missed=result["sla_decided"] - result["sla_hit"],
        sla_rate=_ratio(result["sla_hit"], result["sla_decided"]),
        buckets=[
            SpeedBucketCount(
                key=b.key,
                label=str(b.label),
                leads=result[b.key],
                share=_ratio(result[b.key], qualified),
                seed_reach_rate=b.seed_reach_rate,
            )
            for b in SPEED_BUCKETS
        ],
    )


# --- 5. NPS and CSAT ---------------------------------------------------------------------------

SURVEY_SQL = f"""
SELECT s.id, s.name, s.kind, date_trunc('week', a.answered_at AT TIME ZONE %(tz)s)::date,
       count(*), count(*) FILTER (WHERE a.score >= %(promoter)s),
       count(*) FILTER (WHERE a.score <= %(detractor)s),
       count(*) FILTER (WHERE a.score >= %(satisfied)s), sum(a.score)
FROM automations_surveyanswer a
JOIN automations_survey s ON s.id = a.survey_id
WHERE {_in_period_sql("a.answered_at")} {{contacts}}
GROUP BY 1, 2, 3, 4
"""  # noqa: S608 (constants only)


@dataclass(frozen=True)
class NpsScore:
    """NPS answers (0-10): promoters 9-10, passives 7-8, detractors 0-6;
    nps = % promoters - % detractors, in points from -100 to 100 (unrounded)."""

    answers: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    nps: float | None = None


@dataclass(frozen=True)
class CsatScore:
    """CSAT answers (1-5): satisfied are 4 and 5; csat = % satisfied, 0 to 100 (unrounded);
    average: the mean score."""

    answers: int = 0
    satisfied: int = 0
    csat: float | None = None
    average: float | None = None


@dataclass(frozen=True)
class SurveyWeek:
    week: (
        date  # its Monday, in the reporting zone (the period's first and last weeks may be partial)
    )
    nps: NpsScore
    csat: CsatScore


@dataclass(frozen=True)
class SurveyScore:
    """One survey's figures in the period: `nps` for an NPS survey, `csat` for a CSAT one.
    Drill down: `survey_results` of `survey_id`."""

    survey_id: int
    name: str
    kind: str
    nps: NpsScore | None
    csat: CsatScore | None


@dataclass(frozen=True)
class SurveyScores:
    """Answers given in the period (first answer time), every survey of a kind together;
    `weeks` has every week of the period, empty ones included, for the chart."""

    nps: NpsScore
    csat: CsatScore
    weeks: list[SurveyWeek]
    surveys: list[SurveyScore]


@dataclass
class _Tally:
    answers: int = 0
    promoters: int = 0
    detractors: int = 0
    satisfied: int = 0
    total: int = 0

    def add(
        self, answers: int, promoters: int, detractors: int, satisfied: int, total: int
    ) -> None:
        self.answers += answers
        self.promoters += promoters
        self.detractors += detractors
        self.satisfied += satisfied
        self.total += total

    def nps(self) -> NpsScore:
        n = self.answers
        return NpsScore(
            answers=n,
            promoters=self.promoters,
            passives=n - self.promoters - self.detractors,
            detractors=self.detractors,
            nps=100 * (self.promoters - self.detractors) / n if n else None,
        )

    def csat(self) -> CsatScore:
        n = self.answers
        return CsatScore(
            answers=n,
            satisfied=self.satisfied,
            csat=100 * self.satisfied / n if n else None,
            average=self.total / n if n else None,
        )


def survey_scores(filters: Filters) -> SurveyScores:
    """NPS and CSAT of the period, per week and per survey (by name). One query grouped by
    survey and week."""
    contacts, contact_params = _contacts_sql(filters, "a.contact_id")
    rows = _fetch(
        SURVEY_SQL.format(contacts=contacts),
        _params(
            filters,
            promoter=PROMOTER_MIN,
            detractor=DETRACTOR_MAX,
            satisfied=CSAT_SATISFIED_MIN,
            **contact_params,
        ),
    )
    first = filters.start - timedelta(days=filters.start.weekday())
    weeks = {
        first + timedelta(days=7 * i): (_Tally(), _Tally())
        for i in range((filters.end - first).days // 7 + 1)
    }
    totals = {Survey.Kind.NPS: _Tally(), Survey.Kind.CSAT: _Tally()}
    surveys: dict[int, tuple[str, str, _Tally]] = {}
    for survey_id, name, kind, week, *numbers in rows:
        nps_week, csat_week = weeks[week]
        for tally in (
            totals[kind],
            nps_week if kind == Survey.Kind.NPS else csat_week,
            surveys.setdefault(survey_id, (name, kind, _Tally()))[2],
        ):
            tally.add(*numbers)
    return SurveyScores(
        nps=totals[Survey.Kind.NPS].nps(),
        csat=totals[Survey.Kind.CSAT].csat(),
        weeks=[SurveyWeek(week, n.nps(), c.csat()) for week, (n, c) in weeks.items()],
        surveys=[
            SurveyScore(
                survey_id=pk,
                name=name,
                kind=kind,
                nps=tally.nps() if kind == Survey.Kind.NPS else None,
                csat=tally.csat() if kind == Survey.Kind.CSAT else None,
            )
            for pk, (name, kind, tally) in sorted(surveys.items(), key=lambda s: (s[1][0], s[0]))
        ],
    )
