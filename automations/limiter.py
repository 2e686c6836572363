"""The one send limiter for marketing and sales, asked at send time for every message.

It answers send now, later (with the moment and why: quiet hours, a frequency cap) or never
(with why: no consent, opted out, suppressed). Nothing held back is dropped: "later" moves
the delivery's due_at and the dispatcher takes it again then."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from automations.models import Delivery, SendingPolicy, Suppression, TopicOptOut
from automations.models.delivery import Channel, Purpose
from leads.models import Consent

DAY, WEEK = timedelta(days=1), timedelta(days=7)
# Statuses that count as sent for the caps: the provider call was at least started.
COUNTS_AS_SENT = [
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


def limiter_check(delivery: Delivery, now: datetime, rules: SendingPolicy | None = None) -> Verdict:
    """May `delivery` go out at `now`? Reads the contact's consent, the suppression list and
    its recent sends on the channel: three indexed queries. The caller holds the lock that
    serialises sends to this contact on this channel, so two sends cannot both take the
    last slot of a cap."""
    if delivery.channel == Channel.WEBHOOK:
        return SEND  # a system, not a person: no consent, hours or caps
    rules = rules or policy()
    contact = delivery.contact
    if not delivery.to_address:
        what = _("e-mail address") if delivery.channel == Channel.EMAIL else _("phone number")
        return Verdict(send=False, reason=_("The contact has no %(what)s.") % {"what": what})
    if contact is not None:  # a test send to a user has no contact, hence no consent
        consent = (
            Consent.objects.filter(contact_id=contact.pk, channel=delivery.channel)
            .values_list("status", flat=True)
            .first()
        )
        refused = consent_verdict(delivery.channel, delivery.purpose, consent)
        if refused:
            return refused
    suppressed = (
        Suppression.objects.filter(channel=delivery.channel, address=delivery.to_address.lower())
        .values_list("reason", flat=True)
        .first()
    )
    if suppressed:
        return Verdict(
            send=False,
            reason=_("The address is suppressed (%(why)s).")
            % {"why": Suppression.Reason(suppressed).label},
        )
    if delivery.purpose == Purpose.TRANSACTIONAL or contact is None:
        return SEND
    topic_id = delivery.template.topic_id if delivery.template_id and delivery.template else None
    if (
        topic_id is not None
        and TopicOptOut.objects.filter(contact_id=contact.pk, topic_id=topic_id).exists()
    ):
        return Verdict(
            send=False,
            reason=_("The contact does not want messages about “%(topic)s”.")
            % {"topic": delivery.template.topic},  # type: ignore[union-attr]
        )

    zone = contact_zone(contact.time_zone, rules.default_time_zone)
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
    sent: list[datetime] = [
        at
        for at in Delivery.objects.filter(
            contact_id=contact.pk,
            channel=delivery.channel,
            purpose__in=[Purpose.MARKETING, Purpose.SALES],
            status__in=COUNTS_AS_SENT,
            sent_at__gt=now - WEEK,
        )
        .exclude(pk=delivery.pk)
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)[: max(per_day, per_week) + 1]
        if at is not None
    ]
    for cap, window, label in ((per_day, DAY, _("a day")), (per_week, WEEK, _("a week"))):
        frees = _cap_frees_at(sent, cap, window, now)
        if frees is not None:
            later = frees
            opens = quiet_hours_end(later, zone, rules)  # the freed slot may fall at night
            return Verdict(
                send=False,
                later=opens or later,
                reason=_(
                    "Frequency cap: at most %(n)s %(channel)s %(per)s for marketing and sales."
                )
                % {"n": cap, "channel": Channel(delivery.channel).label, "per": label},
            )
    return SEND
