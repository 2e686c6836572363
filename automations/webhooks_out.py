"""Domain events into outbound webhook rows: one `INSERT … SELECT` per event (or per batch
of events) over the active subscriptions that want its type. No HTTP here: the dispatcher
and the send task do that (automations.services.webhooks).

Each event has an id made from what it is about (the stage change, the order, the
delivery and its new status, …), unique per subscription, so a repeated signal, a
redelivered task or a retried batch enqueues nothing twice.

Payload: ``{"id": <event id>, "type": <event type>, "created_at": <ISO time>, "data": {…}}``
with ids and the few fields an integrator needs; built by PostgreSQL (jsonb_build_object)
in the same statement as the insert.

Whether anyone wants a type is read from the cache (one Redis GET): the set of event types
of the active subscriptions, written when subscriptions change and every dispatcher run
(every 2 s). Without it (a flushed Redis, a test) the insert runs anyway and finds its
subscriptions, so an event is never lost to a cold cache; with it, a type nobody wants
costs no query, which keeps the send path free of webhook work. (A dispatcher run that read
the subscriptions just before a change committed may cache the old set for up to 2 s.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from automations.models.webhooks import DELIVERY_ALL, DELIVERY_EVENTS, EventType

log = logging.getLogger(__name__)

WANTED_KEY = "webhooks:wanted-types"
E = EventType

# The contact an event is about, as every payload shows it (`c` is leads_contact).
_CONTACT = (
    "CASE WHEN c.id IS NULL THEN NULL "
    "ELSE jsonb_build_object('id', c.id, 'email', NULLIF(c.email, '')) END"
)

_ENQUEUE_SQL = """
INSERT INTO automations_webhookdelivery
    (subscription_id, event_type, event_id, payload, status, attempts, next_attempt_at,
     last_status_code, last_error, delivered_at, created_at, updated_at)
SELECT s.id, e.type, e.event_id,
       jsonb_build_object('id', e.event_id, 'type', e.type, 'created_at', e.at, 'data', e.data),
       'pending', 0, %(now)s, NULL, '', NULL, %(now)s, %(now)s
FROM ({source}) AS e(type, event_id, at, data)
JOIN automations_webhooksubscription s
  ON s.is_active
 AND (e.type = ANY(s.event_types)
      OR (e.type LIKE 'delivery.%%' AND '{delivery_all}' = ANY(s.event_types)))
ON CONFLICT (subscription_id, event_id) DO NOTHING
"""


# --- Who wants what ---------------------------------------------------------------------


def wanted_types_refresh() -> set[str]:
    """Read the event types of the active subscriptions and cache them (no expiry: every
    change of a subscription and every dispatcher run writes them again)."""
    from automations.models import WebhookSubscription

    types: set[str] = set()
    for listed in WebhookSubscription.objects.filter(is_active=True).values_list(
        "event_types", flat=True
    ):
        types.update(listed)
    try:
        cache.set(WANTED_KEY, sorted(types), timeout=None)
    except Exception:  # a cache outage only costs the inserts it would have saved
        log.warning("cache unavailable: webhook event types not cached")
    return types


def _wanted_types() -> list[str] | None:
    """The cached event types of the active subscriptions; None when unknown."""
    try:
        types: list[str] | None = cache.get(WANTED_KEY)
    except Exception:
        return None
    return types


def wanted(event_type: str) -> bool:
    """Whether an active subscription may want `event_type`; True when unknown."""
    types = _wanted_types()
    if types is None:
        return True
    return event_type in types or (event_type in DELIVERY_EVENTS and DELIVERY_ALL in types)


def delivery_events_wanted() -> bool:
    """Whether an active subscription may want some delivery event; True when unknown."""
    types = _wanted_types()
    if types is None:
        return True
    return any(t == DELIVERY_ALL or t in DELIVERY_EVENTS for t in types)


# --- Enqueue ----------------------------------------------------------------------------


def _enqueue(source: str, params: dict[str, Any], now: datetime | None = None) -> int:
    """Run the insert over `source` (rows: type, event id, when, data); how many rows."""
    sql = _ENQUEUE_SQL.format(source=source, delivery_all=DELIVERY_ALL)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "now": now or timezone.now()})
        return cursor.rowcount


def stage_changed(*, change_id: int) -> int:
    if not wanted(E.CONTACT_STAGE_CHANGED):
        return 0
    return _enqueue(
        f"""
        SELECT 'contact.stage_changed'::text, 'contact.stage_changed:' || sc.id, sc.at,
               jsonb_build_object(
                   'contact', {_CONTACT}, 'from_stage', NULLIF(sc.from_stage, ''),
                   'to_stage', sc.to_stage, 'cause', sc.cause_kind, 'change_id', sc.id)
        FROM leads_stagechange sc JOIN leads_contact c ON c.id = sc.contact_id
        WHERE sc.id = %(change)s
        """,  # noqa: S608 (fixed fragments; values bound)
        {"change": change_id},
    )


def contacts_merged(*, survivor_id: int, merged_id: int) -> int:
    if not wanted(E.CONTACT_MERGED):
        return 0
    return _enqueue(
        f"""
        SELECT 'contact.merged'::text, 'contact.merged:' || m.id, now(),
               jsonb_build_object(
                   'contact', {_CONTACT},
                   'merged', jsonb_build_object('id', m.id, 'email', NULLIF(m.email, '')))
        FROM leads_contact c JOIN leads_contact m ON m.id = %(merged)s
        WHERE c.id = %(survivor)s
        """,  # noqa: S608 (fixed fragments; values bound)
        {"survivor": survivor_id, "merged": merged_id},
    )


def consent_changed(*, contact_id: int, channel: str) -> int:
    """The consent as it stands now: its id and the time it changed name the event, so
    the same change announced twice is one event."""
    if not wanted(E.CONTACT_CONSENT_CHANGED):
        return 0
    return _enqueue(
        f"""
        SELECT 'contact.consent_changed'::text,
               'contact.consent_changed:' || k.id || ':'
                   || floor(extract(epoch FROM k.changed_at) * 1000000)::bigint,
               k.changed_at,
               jsonb_build_object(
                   'contact', {_CONTACT}, 'channel', k.channel, 'status', k.status,
                   'source', NULLIF(k.source, ''))
        FROM leads_consent k JOIN leads_contact c ON c.id = k.contact_id
        WHERE k.contact_id = %(contact)s AND k.channel = %(channel)s::text
        """,  # noqa: S608 (fixed fragments; values bound)
        {"contact": contact_id, "channel": channel},
    )


def segment_moved(*, segment_id: int, contact_ids: Sequence[int], entered: bool) -> int:
    """One event per contact, named by its stay in the segment (the membership row)."""
    event_type = E.SEGMENT_ENTERED if entered else E.SEGMENT_EXITED
    if not contact_ids or not wanted(event_type):
        return 0
    if entered:
        stays = """
            SELECT m.id, m.contact_id, m.segment_id, m.entered_at AS at
            FROM leads_segmentmembership m
            WHERE m.segment_id = %(segment)s AND m.contact_id = ANY(%(ids)s::bigint[])
              AND m.exited_at IS NULL
        """
    else:
        stays = """
            SELECT DISTINCT ON (m.contact_id) m.id, m.contact_id, m.segment_id, m.exited_at AS at
            FROM leads_segmentmembership m
            WHERE m.segment_id = %(segment)s AND m.contact_id = ANY(%(ids)s::bigint[])
              AND m.exited_at IS NOT NULL
            ORDER BY m.contact_id, m.exited_at DESC
        """
    return _enqueue(
        f"""
        SELECT %(type)s::text, %(type)s::text || ':' || st.id, st.at,
               jsonb_build_object(
                   'segment', jsonb_build_object('id', g.id, 'name', g.name),
                   'contact', {_CONTACT})
        FROM ({stays}) st
        JOIN leads_segment g ON g.id = st.segment_id
        JOIN leads_contact c ON c.id = st.contact_id
        """,  # noqa: S608 (fixed fragments; values bound)
        {"segment": segment_id, "ids": list(contact_ids), "type": str(event_type)},
    )


def orders_created(*, order_ids: Sequence[int]) -> int:
    if not order_ids or not wanted(E.ORDER_CREATED):
        return 0
    return _enqueue(
        f"""
        SELECT 'order.created'::text, 'order.created:' || o.id, o.created_at,
               jsonb_build_object(
                   'order', jsonb_build_object(
                       'id', o.id, 'source_id', o.source_id, 'shop_order_id', o.shop_order_id,
                       'order_number', NULLIF(o.order_number, ''), 'status', o.status,
                       'currency', o.currency, 'total', o.total::text,
                       'discount_total', o.discount_total::text,
                       'coupon_codes', to_jsonb(o.coupon_codes), 'placed_at', o.placed_at),
                   'contact', {_CONTACT})
        FROM leads_order o LEFT JOIN leads_contact c ON c.id = o.contact_id
        WHERE o.id = ANY(%(ids)s::bigint[])
        """,  # noqa: S608 (fixed fragments; values bound)
        {"ids": list(order_ids)},
    )


def deliveries_changed(changes: Iterable[tuple[int, str]], *, checked: bool = False) -> int:
    """`delivery.<status>` for deliveries that reached a status in the catalogue (sent,
    delivered, opened, clicked, bounced, failed, unsubscribed, complained); others (a
    retry scheduled, a suppression) are no event. One statement for the whole batch, none
    when no subscription wants delivery events (`checked`: the caller asked already)."""
    wanted_changes = [
        (pk, status) for pk, status in changes if f"delivery.{status}" in DELIVERY_EVENTS
    ]
    if not wanted_changes or not (checked or delivery_events_wanted()):
        return 0
    return _enqueue(
        f"""
        SELECT 'delivery.' || v.status, 'delivery.' || v.status || ':' || d.id, %(now)s,
               jsonb_build_object(
                   'delivery', jsonb_build_object(
                       'id', d.id, 'channel', d.channel, 'purpose', d.purpose,
                       'origin', NULLIF(d.origin, ''), 'to', NULLIF(d.to_address, ''),
                       'subject', NULLIF(d.subject, ''), 'journey_id', d.journey_id,
                       'template_id', d.template_id, 'status', v.status,
                       'reason', NULLIF(d.reason, '')),
                   'contact', {_CONTACT})
        FROM unnest(%(ids)s::bigint[], %(statuses)s::text[]) AS v(id, status)
        JOIN automations_delivery d ON d.id = v.id
        LEFT JOIN leads_contact c ON c.id = d.contact_id
        """,  # noqa: S608 (fixed fragments; values bound)
        {
            "ids": [pk for pk, _status in wanted_changes],
            "statuses": [str(status) for _pk, status in wanted_changes],
        },
    )


def survey_answered(*, answer_id: int) -> int:
    """Named by the answer and the time it last changed: a changed score is a new event."""
    if not wanted(E.SURVEY_ANSWERED):
        return 0
    return _enqueue(
        f"""
        SELECT 'survey.answered'::text,
               'survey.answered:' || a.id || ':'
                   || floor(extract(epoch FROM a.updated_at) * 1000000)::bigint,
               a.updated_at,
               jsonb_build_object(
                   'survey', jsonb_build_object('id', s.id, 'name', s.name, 'kind', s.kind),
                   'contact', {_CONTACT}, 'answer_id', a.id, 'score', a.score,
                   'comment', NULLIF(a.comment, ''))
        FROM automations_surveyanswer a
        JOIN automations_survey s ON s.id = a.survey_id
        LEFT JOIN leads_contact c ON c.id = a.contact_id
        WHERE a.id = %(answer)s
        """,  # noqa: S608 (fixed fragments; values bound)
        {"answer": answer_id},
    )


def reply_received(*, contact_id: int, channel: str, inbound_id: int) -> int:
    if not wanted(E.REPLY_RECEIVED):
        return 0
    return _enqueue(
        f"""
        SELECT 'reply.received'::text,
               'reply.received:' || %(inbound)s::bigint || ':' || c.id, now(),
               jsonb_build_object(
                   'contact', {_CONTACT}, 'channel', %(channel)s::text,
                   'inbound_id', %(inbound)s::bigint)
        FROM leads_contact c WHERE c.id = %(contact)s
        """,  # noqa: S608 (fixed fragments; values bound)
        {"contact": contact_id, "channel": channel, "inbound": inbound_id},
    )
