"""The rep queue: exactly one lead at a time, claimed with a lease.

`queue_claim_next` picks the rep's most urgent due manual step (leads that just qualified
and were never touched first, then overdue steps by how late, then score) with
`FOR UPDATE SKIP LOCKED`, and leases it to the rep: two reps asking at the same instant get
different leads, and a lease that runs out (the rep closed the browser) returns the lead.
`touch_record` writes the disposition once per submit key and moves the enrollment on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.html import linebreaks
from django.utils.translation import gettext as _

from automations.models import MessageTemplate
from automations.models.delivery import Purpose
from automations.services.deliveries import delivery_schedule
from cadences.models import AUTOMATIC_KINDS, Enrollment, Rep, Skip, SlaPolicy, Touch
from cadences.services.enrollment import enrollment_advance, sla_policy
from cadences.services.steps import SALES_PRIORITY

E = Enrollment
D = Touch.Disposition
# Dispositions that end the enrollment, with its outcome.
ENDING: dict[str, str] = {
    D.WRONG_NUMBER: E.Outcome.WRONG_NUMBER,
    D.NOT_INTERESTED: E.Outcome.NOT_INTERESTED,
    D.MEETING: E.Outcome.QUALIFIED,
    D.BAD_LEAD: E.Outcome.BAD_LEAD,
}
_CLAIM_SQL = """
WITH next AS (
    SELECT e.id FROM cadences_enrollment e
    WHERE e.status = 'active' AND NOT (e.kind = ANY(%(auto)s)) AND e.kind <> ''
      AND e.due_at <= %(now)s
      AND (e.rep_id = %(rep)s OR (e.rep_id IS NULL AND %(pool)s))
      AND (e.lease_until IS NULL OR e.lease_until < %(now)s OR e.leased_to_id = %(rep)s)
    ORDER BY (e.leased_to_id = %(rep)s AND e.lease_until >= %(now)s) DESC NULLS LAST,
             {order}
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE cadences_enrollment e
SET leased_to_id = %(rep)s, lease_until = %(until)s,
    rep_id = coalesce(e.rep_id, %(rep)s)
FROM next WHERE e.id = next.id
RETURNING e.id
"""


# The same order over a few candidates instead of every due lead of the rep: its live lease,
# the leads that just qualified (few; index enrollment_queue_fresh), and the first
# CLAIM_DEPTH of the rest of its own leads and of the pool's, each read in queue order from
# an index. Reading and sorting all of them cost ~10 ms a claim at 2,000 leads per rep
# (100,000 enrollments, 50 reps). The candidates are checked again as they are locked, and
# when none could be claimed (all taken at once, or nothing due) the full statement above
# decides, so the answer is the one it would give.
CLAIM_DEPTH = 50
_DUE = (
    "e.status = 'active' AND NOT (e.kind = ANY(%(auto)s)) AND e.kind <> '' AND e.due_at <= %(now)s"
)
_FREE = "(e.lease_until IS NULL OR e.lease_until < %(now)s)"
_FRESH = "e.first_touch_at IS NULL AND e.qualified_at > %(fresh)s"
_CLAIM_FAST_SQL = f"""
WITH candidate AS (
    (SELECT e.id FROM cadences_enrollment e
     WHERE e.leased_to_id = %(rep)s AND e.lease_until >= %(now)s AND {_DUE})
    {{fresh}}
    UNION ALL
    (SELECT e.id FROM cadences_enrollment e
     WHERE e.rep_id = %(rep)s AND {_DUE} AND {_FREE} {{not_fresh}}
     ORDER BY {{then_by}} LIMIT %(depth)s)
    UNION ALL
    (SELECT e.id FROM cadences_enrollment e
     WHERE e.rep_id IS NULL AND %(pool)s AND {_DUE} AND {_FREE} {{not_fresh}}
     ORDER BY {{then_by}} LIMIT %(depth)s)
), next AS (
    SELECT e.id FROM cadences_enrollment e
    WHERE e.id IN (SELECT id FROM candidate) AND {_DUE}
      AND (e.rep_id = %(rep)s OR (e.rep_id IS NULL AND %(pool)s))
      AND (e.lease_until IS NULL OR e.lease_until < %(now)s OR e.leased_to_id = %(rep)s)
    ORDER BY (e.leased_to_id = %(rep)s AND e.lease_until >= %(now)s) DESC NULLS LAST,
             {{order}}
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE cadences_enrollment e
SET leased_to_id = %(rep)s, lease_until = %(until)s,
    rep_id = coalesce(e.rep_id, %(rep)s)
FROM next WHERE e.id = next.id
RETURNING e.id
"""  # noqa: S608 (fixed SQL fragments only, every value bound)
_FRESH_CANDIDATES = f"""UNION ALL
    (SELECT e.id FROM cadences_enrollment e
     WHERE {_FRESH} AND {_DUE} AND {_FREE}
       AND (e.rep_id = %(rep)s OR (e.rep_id IS NULL AND %(pool)s)))"""  # noqa: S608


def _claim_sql(policy: SlaPolicy) -> str:
    order, then_by = _priority(policy), _then_by(policy)
    if not policy.new_leads_first:
        return _CLAIM_FAST_SQL.format(fresh="", not_fresh="", order=order, then_by=then_by)
    return _CLAIM_FAST_SQL.format(
        fresh=_FRESH_CANDIDATES,
        not_fresh="AND (e.first_touch_at IS NOT NULL OR e.qualified_at <= %(fresh)s)",
        order=order,
        then_by=then_by,
    )


def rep_of(user: Any) -> Rep:
    """The user's rep profile, made on first use (a sales manager may work the queue too)."""
    rep, _created = Rep.objects.get_or_create(user=user)
    return rep


def _priority(policy: SlaPolicy) -> str:
    """The queue's order from the sales manager's rules (fixed SQL fragments only)."""
    rules = []
    if policy.new_leads_first:
        rules.append("(e.first_touch_at IS NULL AND e.qualified_at > %(fresh)s) DESC")
    return ", ".join([*rules, _then_by(policy)])


def _then_by(policy: SlaPolicy) -> str:
    """The order after the new leads (an index on (rep, due_at) serves the default)."""
    if policy.then_by == SlaPolicy.ThenBy.SCORE:
        return "e.score DESC, e.due_at, e.id"
    return "e.due_at, e.score DESC, e.id"


def queue_claim_next(
    *, rep: Rep, now: datetime | None = None, pool: bool = True
) -> Enrollment | None:
    """The one next lead for `rep`, leased to it (its current lease first, so a reload
    shows the same lead). None: nothing is due."""
    now = now or timezone.now()
    policy = sla_policy()
    params: dict[str, Any] = {
        "auto": sorted(AUTOMATIC_KINDS),
        "now": now,
        "rep": rep.pk,
        "pool": pool,
        "fresh": now - timedelta(hours=policy.new_lead_hours),
        "until": now + timedelta(minutes=policy.lease_minutes),
        "depth": CLAIM_DEPTH,
    }
    # One statement each, so no transaction block around them (autocommit, or the caller's).
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(policy), params)
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_CLAIM_SQL.format(order=_priority(policy)), params)
            row = cursor.fetchone()
    if row is None:
        return None
    # What the card shows with it (the contact, the cadence's name); the rest loads on use.
    return E.objects.select_related("contact", "cadence").filter(pk=row[0]).first()


def queue_release(*, rep: Rep, enrollment_id: int) -> None:
    E.objects.filter(pk=enrollment_id, leased_to=rep).update(leased_to=None, lease_until=None)


@dataclass(frozen=True)
class Message:
    """A manual e-mail or SMS the rep composed from the step's template and sends from
    Growth: it goes through the messaging layer and the send limiter like any other."""

    channel: str  # "email" or "sms"
    text: str
    subject: str = ""
    template_id: int | None = None


@dataclass(frozen=True)
class Recorded:
    touch: Touch
    created: bool  # False: this submit was recorded before (a double submit)


def touch_record(
    *,
    rep: Rep,
    enrollment_id: int,
    disposition: str,
    notes: str = "",
    key: str,
    message: Message | None = None,
    bad_reason: str = "",
    now: datetime | None = None,
) -> Recorded:
    """Record what the rep did on the enrollment's current step, once per `key` (the form
    carries one, so a double submit records one touch), and move the enrollment on: to its
    next step, or to its end when the disposition ends it. A bad lead is rated with its
    reason for marketing in the same transaction: both or neither."""
    now = now or timezone.now()
    if disposition == D.BAD_LEAD and not bad_reason:
        raise ValidationError(
            {"bad_reason": _("Say why it is a bad lead: marketing learns from it.")}
        )
    if disposition not in D.values or disposition == D.AUTOMATIC:
        raise ValidationError({"disposition": _("Choose what happened.")})
    if len(notes) > 5000:
        raise ValidationError({"notes": _("Keep notes under 5,000 characters.")})
    if message is not None:
        _check_message(message)
    key = key.strip()[:120]
    if not key:
        raise ValidationError({"key": _("The form is missing its submit key; reload the page.")})
    earlier = Touch.objects.filter(key=key).first()
    if earlier is not None:
        return Recorded(earlier, created=False)
    try:
        with transaction.atomic():
            enrollment = (
                E.objects.select_for_update(of=("self",))
                # The teams too: the next step's due time is in the team's zone.
                .select_related("contact", "cadence__team", "rep__team")
                .filter(pk=enrollment_id)
                .first()
            )
            if enrollment is None or enrollment.status != E.Status.ACTIVE:
                raise ValidationError(_("This lead is no longer on a cadence."))
            if enrollment.rep_id not in (None, rep.pk) and enrollment.leased_to_id != rep.pk:
                raise ValidationError(_("This lead belongs to another rep."))
            if _leased_to_another(enrollment, rep, now):  # a pool lead another rep is on
                raise ValidationError(_("This lead belongs to another rep."))
            delivery_id = _send(enrollment, message, key, now) if message is not None else None
            touch = Touch.objects.create(
                enrollment=enrollment,
                contact_id=enrollment.contact_id,
                rep=rep,
                step=enrollment.step,
                kind=enrollment.kind,
                disposition=disposition,
                notes=notes.strip(),
                delivery_id=delivery_id,
                at=now,
                key=key,
            )
            _after_touch(enrollment, rep, disposition, now)
            if disposition == D.BAD_LEAD:
                _rate_bad(enrollment, rep, bad_reason, notes)
    except IntegrityError:  # the same key, submitted twice at once: the other one won
        return Recorded(Touch.objects.get(key=key), created=False)
    return Recorded(touch, created=True)


def _leased_to_another(enrollment: Enrollment, rep: Rep, now: datetime) -> bool:
    return (
        enrollment.rep_id is None
        and enrollment.leased_to_id not in (None, rep.pk)
        and enrollment.lease_until is not None
        and enrollment.lease_until >= now
    )


def _check_message(message: Message) -> None:
    errors = {}
    if message.channel not in ("email", "sms"):
        errors["channel"] = _("A message goes by e-mail or SMS.")
    if not message.text.strip():
        errors["text"] = _("Write the message before sending it.")
    elif len(message.text) > 20_000:
        errors["text"] = _("Keep the message under 20,000 characters.")
    if message.channel == "email" and not message.subject.strip():
        errors["subject"] = _("An e-mail needs a subject.")
    if errors:
        raise ValidationError(errors)


def _send(enrollment: Enrollment, message: Message, key: str, now: datetime) -> int:
    """Hand the rep's message to the messaging layer (sales purpose: consent, suppression,
    quiet hours and the shared frequency cap apply at send time)."""
    template = (
        MessageTemplate.objects.filter(pk=message.template_id).first()
        if message.template_id
        else None
    )
    delivery = delivery_schedule(
        key=f"queue:{key}",
        contact=enrollment.contact,
        channel=message.channel,
        purpose=Purpose.SALES,
        due_at=now,
        subject=message.subject.strip()[:300],
        text=message.text.strip(),
        html=linebreaks(message.text.strip()) if message.channel == "email" else "",
        priority=SALES_PRIORITY,
        origin="cadence",
        template=template,
        tags=[f"cadence-{enrollment.cadence_id}"],
    )
    return delivery.pk


def _after_touch(enrollment: Enrollment, rep: Rep, disposition: str, now: datetime) -> None:
    enrollment.attempts += 1
    if enrollment.first_touch_at is None:
        enrollment.first_touch_at = now
        if enrollment.sla_rep_id is None:  # a miss recorded earlier stays the earlier rep's
            enrollment.sla_rep = rep
    enrollment.rep = enrollment.rep or rep
    enrollment.leased_to = None
    enrollment.lease_until = None
    if disposition in ENDING:
        enrollment.status = E.Status.ENDED
        enrollment.outcome = ENDING[disposition]
        enrollment.ended_at = now
        enrollment.kind = ""
        enrollment.due_at = None
    else:
        enrollment_advance(enrollment=enrollment, now=now)
    enrollment.save()
    if disposition == D.MEETING:
        _qualify(enrollment, rep)


def _rate_bad(enrollment: Enrollment, rep: Rep, reason: str, notes: str) -> None:
    """The rep's verdict, where marketing reads lead quality by source and campaign."""
    from leads.models.quality import LeadRating
    from leads.services.quality import lead_rate

    lead_rate(
        contact=enrollment.contact,
        actor=rep.user,
        verdict=LeadRating.Verdict.BAD,
        reason=reason,
        note=notes.strip(),
    )


def _qualify(enrollment: Enrollment, rep: Rep) -> None:
    """A meeting booked makes the lead an SQL (a rep recorded purchase intent)."""
    from leads.models import Contact
    from leads.models.lifecycle import LifecycleStage, StageChange
    from leads.services.lifecycle import stage_change

    contact = Contact.objects.get(pk=enrollment.contact_id)
    if contact.lifecycle_stage in (
        LifecycleStage.SUBSCRIBER,
        LifecycleStage.LEAD,
        LifecycleStage.MQL,
    ):
        stage_change(
            contact=contact,
            to_stage=LifecycleStage.SQL,
            cause_kind=StageChange.Cause.USER,
            reason=_("Meeting booked from the queue"),
            actor=rep.user,
        )


def queue_skip(*, rep: Rep, enrollment_id: int, reason: str, now: datetime | None = None) -> Skip:
    """Pass on the leased lead with a reason: it goes back to the queue (after the others
    due now), and the skip is counted for the manager."""
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why you skip this lead: your manager sees it.")})
    with transaction.atomic():
        enrollment = E.objects.select_for_update().filter(pk=enrollment_id, leased_to=rep).first()
        if enrollment is None:
            raise ValidationError(_("This lead is not yours to skip (its lease ran out)."))
        skip = Skip.objects.create(enrollment=enrollment, rep=rep, reason=reason[:200], at=now)
        E.objects.filter(pk=enrollment.pk).update(
            skips=enrollment.skips + 1,
            leased_to=None,
            lease_until=None,
            due_at=now + timedelta(minutes=15),  # not straight back to the top
        )
    return skip
