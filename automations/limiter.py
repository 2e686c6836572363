"""The one send limiter for marketing and sales, asked at send time for every message.

It answers send now, later (with the moment and why: quiet hours, a frequency cap) or never
(with why: no consent, opted out, suppressed). Nothing held back is dropped: "later" moves
the delivery's due_at and the dispatcher takes it again then."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection
from django.utils.translation import gettext as _

from automations.models import Delivery, SendingPolicy, Suppression
from automations.models.delivery import Channel, Purpose
from leads.models import Consent

DAY, WEEK = timedelta(days=1), timedelta(days=7)
# A more important capped message due at once goes first; this one waits this long.
OUTRANKED_WAIT = timedelta(minutes=1)
# Statuses that count as sent for the caps: let through by the limiter, the provider call
# about to start, under way or done.
COUNTS_AS_SENT = [
    Delivery.Status.READY,
    Delivery.Status.SENDING,
    Delivery.Status.SENT,
    Delivery.Status.DELIVERED,
    Delivery.Status.OPENED,
    Delivery.Status.CLICKED,
    Delivery.Status.BOUNCED,
    Delivery.Status.COMPLAINED,
    Delivery.Status.UNSUBSCRIBED,
]


@dataclass(frozen=True)
class Verdict:
    send: bool
    later: datetime | None = None  # held back until then
    reason: str = ""

    @property
    def never(self) -> bool:
        return not self.send and self.later is None


SEND = Verdict(send=True)


def policy() -> SendingPolicy:
    row, _created = SendingPolicy.objects.get_or_create(pk=1)
    return row


def contact_zone(time_zone: str, fallback: str) -> ZoneInfo:
    for name in (time_zone, fallback, "UTC"):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_hours_end(now: datetime, zone: ZoneInfo, rules: SendingPolicy) -> datetime | None:
    """None inside the allowed window of the contact's day, else the window's next start.

    Wall-clock times in the contact's zone, so "8:00" stays 8:00 across DST changes."""
    local = now.astimezone(zone)
    start, until = rules.allowed_from, rules.allowed_until
    if start <= until:
        inside = start <= local.time() < until
    else:  # a window over midnight (e.g. 18:00 to 02:00)
        inside = local.time() >= start or local.time() < until
    if inside:
        return None
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    opens = datetime.combine(day, start, tzinfo=zone)
    return opens.astimezone(now.tzinfo)


def _cap_frees_at(
    sent: list[datetime], cap: int, window: timedelta, now: datetime
) -> datetime | None:
    """When a send slot frees up: None when fewer than `cap` were sent inside the window,
    else when enough of them have aged out of it. `sent` is newest first."""
    inside = [at for at in sent if at > now - window]
    if len(inside) < cap:
        return None
    if cap == 0:
        return now + window  # a cap of 0 switches the channel off for this purpose
    return inside[cap - 1] + window


def consent_verdict(channel: str, purpose: str, consent: str | None) -> Verdict | None:
    """Marketing needs a granted consent; sales and transactional need no refusal."""
    status = consent or Consent.Status.UNKNOWN
    if status == Consent.Status.DENIED:
        if channel == Channel.SMS or purpose != Purpose.TRANSACTIONAL:
            return Verdict(
                send=False,
                reason=_("The contact opted out of %(channel)s.")
                % {"channel": Channel(channel).label},
            )
    elif purpose == Purpose.MARKETING and status != Consent.Status.GRANTED:
        return Verdict(
            send=False,
            reason=_("No consent to marketing %(channel)s (consent is %(status)s).")
            % {"channel": Channel(channel).label, "status": Consent.Status(status).label},
        )
    return None


@dataclass(frozen=True)
class LimiterInputs:
    """What the limiter reads about one delivery, fetched for many at once
    (`limiter_inputs`) so a batch of sends costs one query, not three per message."""

    time_zone: str = ""  # the contact's
    consent: str | None = None  # the contact's consent status on the channel
    suppressed: str | None = None  # the address's suppression reason
    topic_opted_out: str | None = None  # the template's topic, when the contact left it
    sent: tuple[datetime, ...] = ()  # latest capped sends on the channel, newest first
    outranked: bool = False  # a more important capped message to the contact is due too


# The latest sends are read without a sent_at range on purpose: that keeps the planner on
# delivery_capped whatever the statistics say (see Delivery.Meta); the caps' windows are
# applied to the few rows it returns.
INPUTS_SQL = """
SELECT q.ord,
    c.time_zone,
    (SELECT status FROM leads_consent
        WHERE contact_id = q.contact_id AND channel = q.channel),
    (SELECT reason FROM automations_suppression
        WHERE channel = q.channel AND address = q.address),
    (SELECT t.name FROM automations_topicoptout o JOIN automations_topic t ON t.id = o.topic_id
        WHERE o.contact_id = q.contact_id AND o.topic_id = q.topic_id),
    ARRAY(SELECT d.sent_at FROM automations_delivery d
        WHERE d.contact_id = q.contact_id AND d.channel = q.channel
          AND d.purpose IN ('marketing', 'sales')
          AND d.status = ANY(%(counted)s) AND d.id IS DISTINCT FROM q.id
        ORDER BY d.sent_at DESC NULLS LAST LIMIT %(keep)s),
    EXISTS (SELECT 1 FROM automations_delivery d
        WHERE d.contact_id = q.contact_id AND d.channel = q.channel
          AND d.status IN ('scheduled', 'queued') AND d.due_at <= %(now)s
          AND d.priority > q.priority AND d.purpose <> 'transactional'
          AND NOT d.id = ANY(%(batch)s))
FROM unnest(%(ord)s::int[], %(id)s::bigint[], %(contact)s::bigint[], %(channel)s::text[],
            %(address)s::text[], %(topic)s::bigint[], %(priority)s::int[])
    AS q(ord, id, contact_id, channel, address, topic_id, priority)
LEFT JOIN leads_contact c ON c.id = q.contact_id
"""


def limiter_inputs(
    deliveries: Sequence[Delivery], now: datetime, rules: SendingPolicy
) -> list[LimiterInputs]:
    """The limiter's inputs for each delivery, in order, in one query. Read after the
    caller took the contact-and-channel locks, so sends committed meanwhile are seen.
    "More important message due" ignores the deliveries asked about together: the caller
    decides those in priority order itself."""
    if not deliveries:
        return []
    with connection.cursor() as cursor:
        cursor.execute(INPUTS_SQL, inputs_params(deliveries, now, rules))
        rows = sorted(cursor.fetchall())
    return [
        LimiterInputs(
            time_zone=zone or "",
            consent=consent,
            suppressed=suppressed,
            topic_opted_out=topic,
            sent=tuple(at for at in sent if at is not None),
            outranked=outranked,
        )
        for _ord, zone, consent, suppressed, topic, sent, outranked in rows
    ]


def inputs_params(
    deliveries: Sequence[Delivery], now: datetime, rules: SendingPolicy
) -> dict[str, Any]:
    keep = max(rules.email_per_day, rules.email_per_week, rules.sms_per_day, rules.sms_per_week)
    return {
        "ord": list(range(len(deliveries))),
        "id": [d.pk for d in deliveries],
        "contact": [d.contact_id for d in deliveries],
        "channel": [d.channel for d in deliveries],
        "address": [_suppression_address(d) for d in deliveries],
        "topic": [
            d.template.topic_id if d.template_id and d.template else None for d in deliveries
        ],
        "priority": [d.priority for d in deliveries],
        "batch": [d.pk for d in deliveries if d.pk is not None],
        "counted": [str(s) for s in COUNTS_AS_SENT],
        "keep": keep + 1,
        "now": now,
    }


def _suppression_address(delivery: Delivery) -> str:
    return (delivery.to_address or "").lower()


def limiter_decide(
    delivery: Delivery, inputs: LimiterInputs, now: datetime, rules: SendingPolicy
) -> Verdict:
    """May `delivery` go out at `now`, given what `limiter_inputs` read? No queries: the
    caller holds the lock that serialises sends to this contact on this channel, so two
    sends cannot both take the last slot of a cap."""
    if delivery.channel == Channel.WEBHOOK:
        return SEND  # a system, not a person: no consent, hours or caps
    if not delivery.to_address:
        what = _("e-mail address") if delivery.channel == Channel.EMAIL else _("phone number")
        return Verdict(send=False, reason=_("The contact has no %(what)s.") % {"what": what})
    has_contact = delivery.contact_id is not None  # a test send to a user has none
    if has_contact:
        refused = consent_verdict(delivery.channel, delivery.purpose, inputs.consent)
        if refused:
            return refused
    if inputs.suppressed:
        return Verdict(
            send=False,
            reason=_("The address is suppressed (%(why)s).")
            % {"why": Suppression.Reason(inputs.suppressed).label},
        )
    if delivery.purpose == Purpose.TRANSACTIONAL or not has_contact:
        return SEND
    if inputs.topic_opted_out is not None:
        return Verdict(
            send=False,
            reason=_("The contact does not want messages about “%(topic)s”.")
            % {"topic": inputs.topic_opted_out},
        )
    zone = contact_zone(inputs.time_zone, rules.default_time_zone)
    opens = quiet_hours_end(now, zone, rules)
    if opens is not None:
        return Verdict(
            send=False,
            later=opens,
            reason=_("Quiet hours in %(zone)s: held until %(time)s there.")
            % {"zone": zone.key, "time": rules.allowed_from.strftime("%H:%M")},
        )
    per_day, per_week = (
        (rules.email_per_day, rules.email_per_week)
        if delivery.channel == Channel.EMAIL
        else (rules.sms_per_day, rules.sms_per_week)
    )
    for cap, window, label in ((per_day, DAY, _("a day")), (per_week, WEEK, _("a week"))):
        frees = _cap_frees_at(list(inputs.sent), cap, window, now)
        if frees is not None:
            opens = quiet_hours_end(frees, zone, rules)  # the freed slot may fall at night
            return Verdict(
                send=False,
                later=opens or frees,
                reason=_(
                    "Frequency cap: at most %(n)s %(channel)s %(per)s for marketing and sales."
                )
                % {"n": cap, "channel": Channel(delivery.channel).label, "per": label},
            )
    if inputs.outranked:  # send tasks run in any order on several workers
        return Verdict(
            send=False,
            later=now + OUTRANKED_WAIT,
            reason=_("A more important message to this contact goes first."),
        )
    return SEND


def limiter_check(delivery: Delivery, now: datetime, rules: SendingPolicy | None = None) -> Verdict:
    """May `delivery` go out at `now`? One query (see `limiter_inputs`), then the rules."""
    rules = rules or policy()
    [inputs] = limiter_inputs([delivery], now, rules)
    return limiter_decide(delivery, inputs, now, rules)
