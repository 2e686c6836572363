"""Send time: the hour of the day a contact reads, so "send at best time" waits and
campaigns reach them then (seed 003: the fourth dimension).

The hour is a local hour in the contact's time zone: the one at which the contact opened or
clicked most often; without any open or click of theirs, the hour the shop's contacts read
most (each in their own zone); without either, 10:00. `next_best_time` turns it into the
next moment, DST-safe and inside the sending policy's allowed hours."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from redis.exceptions import RedisError

from automations.limiter import contact_zone, policy, quiet_hours_end
from automations.models import Delivery, SendingPolicy
from leads.models import Contact

log = logging.getLogger(__name__)

DEFAULT_HOUR = 10
CONTACT_SIGNALS = 200  # a contact's latest messages read for its hour
SHOP_SAMPLE = 200_000  # the newest deliveries read for the shop's hour
SHOP_CACHE_SECONDS = 3600
SOURCE_CONTACT, SOURCE_SHOP, SOURCE_DEFAULT = "contact", "shop", "default"


def _most_common(hours: Counter[int], latest: dict[int, datetime]) -> int:
    """The hour with most signals; a tie goes to the hour read most recently."""
    return max(hours, key=lambda hour: (hours[hour], latest[hour], -hour))


def contact_best_hour(contact_id: int, zone: ZoneInfo) -> int | None:
    """The local hour of most of the contact's opens and clicks (each counts), or None."""
    rows = (
        Delivery.objects.filter(contact_id=contact_id)
        .filter(Q(opened_at__isnull=False) | Q(clicked_at__isnull=False))
        .order_by("-created_at")
        .values_list("opened_at", "clicked_at")[:CONTACT_SIGNALS]
    )
    hours: Counter[int] = Counter()
    latest: dict[int, datetime] = {}
    for pair in rows:
        for at in pair:
            if at is None:
                continue
            hour = at.astimezone(zone).hour
            hours[hour] += 1
            latest[hour] = max(latest.get(hour, at), at)
    return _most_common(hours, latest) if hours else None


_SHOP_HOUR_SQL = """
WITH zones AS (SELECT name FROM pg_timezone_names),
fallback AS (
    SELECT coalesce((SELECT name FROM zones WHERE name = %(default)s), 'UTC') AS name
),
recent AS (
    SELECT d.contact_id, d.opened_at, d.clicked_at FROM automations_delivery d
    WHERE d.id > (SELECT coalesce(max(id), 0) FROM automations_delivery) - %(sample)s
      AND d.contact_id IS NOT NULL
      AND (d.opened_at IS NOT NULL OR d.clicked_at IS NOT NULL)
),
signals AS (
    SELECT r.contact_id, v.at
    FROM recent r CROSS JOIN LATERAL (VALUES (r.opened_at), (r.clicked_at)) AS v(at)
    WHERE v.at IS NOT NULL
)
SELECT extract(hour FROM s.at AT TIME ZONE coalesce(z.name, f.name))::int AS hour,
       count(*) AS n, max(s.at) AS latest
FROM signals s
JOIN leads_contact c ON c.id = s.contact_id
LEFT JOIN zones z ON z.name = c.time_zone
CROSS JOIN fallback f
GROUP BY 1
ORDER BY n DESC, latest DESC, hour
LIMIT 1
"""


def _shop_best_hour_query(default_zone: str) -> int | None:
    # Zone names PostgreSQL does not know (a typo from a shop) fall back to the default:
    # AT TIME ZONE would fail on them.
    with connection.cursor() as cursor:
        cursor.execute(_SHOP_HOUR_SQL, {"default": default_zone, "sample": SHOP_SAMPLE})
        row = cursor.fetchone()
    return int(row[0]) if row else None


def shop_best_hour(default_zone: str) -> int | None:
    """The local hour the shop's contacts open or click most, over the newest deliveries,
    or None. Cached for an hour: it moves slowly and reads many rows."""
    key = f"automations:send-time:shop-hour:{default_zone}"
    try:
        cached = cache.get(key)
    except RedisError:
        log.warning("cache unavailable: computing the shop's send hour directly")
        return _shop_best_hour_query(default_zone)
    if cached is not None:
        return None if cached == -1 else int(cached)
    hour = _shop_best_hour_query(default_zone)
    with contextlib.suppress(RedisError):
        cache.set(key, -1 if hour is None else hour, SHOP_CACHE_SECONDS)
    return hour


def best_send_hour(contact_id: int, *, rules: SendingPolicy | None = None) -> tuple[int, str]:
    """(local hour 0-23, source): where the hour comes from is "contact", "shop" or
    "default" (10:00)."""
    rules = rules or policy()
    time_zone = Contact.objects.filter(pk=contact_id).values_list("time_zone", flat=True).first()
    zone = contact_zone(time_zone or "", rules.default_time_zone)
    hour = contact_best_hour(contact_id, zone)
    if hour is not None:
        return hour, SOURCE_CONTACT
    hour = shop_best_hour(rules.default_time_zone)
    if hour is not None:
        return hour, SOURCE_SHOP
    return DEFAULT_HOUR, SOURCE_DEFAULT


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _allowed(at: time, rules: SendingPolicy) -> bool:
    start, until = rules.allowed_from, rules.allowed_until
    if start <= until:
        return start <= at < until
    return at >= start or at < until  # a window over midnight


def allowed_send_time(hour: int, rules: SendingPolicy) -> time:
    """The local time of day to send at: the preferred hour when the policy allows it, else
    the allowed moment nearest to it (the window's start, or its last whole hour)."""
    preferred = time(hour)
    start, until = rules.allowed_from, rules.allowed_until
    if start == until or _allowed(preferred, rules):
        return preferred
    last_minutes = (_minutes(until) - 60) % (24 * 60)
    last = time(last_minutes // 60, last_minutes % 60)
    if not _allowed(last, rules):  # a window shorter than an hour
        last = start

    def distance(candidate: time) -> int:
        gap = abs(_minutes(candidate) - _minutes(preferred))
        return min(gap, 24 * 60 - gap)

    return min((start, last), key=lambda candidate: (distance(candidate), _minutes(candidate)))


def _local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`day` at `at` in `zone` as an instant. A wall time skipped by a DST change (02:30 on
    the spring-forward night) becomes the same distance past the gap (03:30); a repeated
    one (the fall-back night) is its first occurrence."""
    wall = datetime.combine(day, at, tzinfo=zone)  # fold=0
    return wall.astimezone(UTC).astimezone(zone)


def next_best_time(
    contact: Contact, after: datetime, *, rules: SendingPolicy | None = None
) -> datetime:
    """The next moment at or after `after` at the contact's best local hour (see
    `best_send_hour`), moved into the allowed hours of the sending policy; aware UTC."""
    rules = rules or policy()
    zone = contact_zone(contact.time_zone, rules.default_time_zone)
    hour, _source = best_send_hour(contact.pk, rules=rules)
    at = allowed_send_time(hour, rules)
    local_after = after.astimezone(zone)
    candidate = _local_moment(local_after.date(), at, zone)
    day = local_after.date()
    while candidate < after:
        day += timedelta(days=1)
        candidate = _local_moment(day, at, zone)
    # A DST night can push the wall time out of the window: then its next opening.
    opens = quiet_hours_end(candidate, zone, rules)
    return (opens or candidate).astimezone(UTC)
