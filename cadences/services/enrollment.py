"""Enrollments: every new MQL enters a cadence at once, assigned to a rep who is working and
has room; it ends with the outcome recorded when the lead replies, orders, qualifies,
unsubscribes, bounces, or when the last step is done."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from automations.limiter import contact_zone
from cadences.models import WEEKDAYS, Cadence, Enrollment, Rep, SlaPolicy
from cadences.published import version_step
from cadences.services.timing import business_deadline, inside_hours, step_due
from leads.models import Contact

E = Enrollment
OPEN = [E.Status.ACTIVE, E.Status.PAUSED]


def sla_policy() -> SlaPolicy:
    row, _created = SlaPolicy.objects.get_or_create(pk=1)
    return row


# --- Choosing the cadence and the rep ---------------------------------------------------------


def _memberships(contact_id: int) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT segment_id FROM leads_segmentmembership"
            " WHERE contact_id = %s AND exited_at IS NULL",
            [contact_id],
        )
        return {row[0] for row in cursor.fetchall()}


def _matches(rules: dict[str, Any], contact: Contact, segments: set[int]) -> bool:
    if rules.get("sources") and contact.source_channel not in rules["sources"]:
        return False
    if rules.get("countries") and contact.country.upper() not in rules["countries"]:
        return False
    if rules.get("personas") and not segments & set(rules["personas"]):
        return False
    if rules.get("segments") and not segments & set(rules["segments"]):
        return False
    return not ("min_score" in rules and contact.score < rules["min_score"])


def cadence_for(contact: Contact, *, rng: random.Random | None = None) -> Cadence | None:
    """The cadence a new MQL enters: among active cadences, those of the lowest rank whose
    rules match; several of them split leads by weight (an A/B test)."""
    candidates = list(
        Cadence.objects.filter(status=Cadence.Status.ACTIVE, live__isnull=False).order_by(
            "rank", "pk"
        )
    )
    if not candidates:
        return None
    segments = (
        _memberships(contact.pk)
        if any(c.rules.get("personas") or c.rules.get("segments") for c in candidates)
        else set()
    )
    matching = [c for c in candidates if _matches(c.rules, contact, segments)]
    if not matching:
        return None
    best = [c for c in matching if c.rank == matching[0].rank]
    if len(best) == 1:
        return best[0]
    return (rng or random).choices(best, weights=[c.weight for c in best])[0]


def _has_room(rep: Rep) -> bool:
    """Fewer active leads than its capacity: counted up to the capacity, through the rep
    index, never over the whole enrollments table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM cadences_enrollment"
            " WHERE rep_id = %s AND status = 'active' LIMIT %s) AS held",
            [rep.pk, rep.capacity],
        )
        row = cursor.fetchone()
    return int(row[0]) < rep.capacity


def _working(rep: Rep, now: datetime) -> bool:
    zone = contact_zone(rep.team.time_zone if rep.team else "", "")
    return inside_hours(
        now,
        zone=zone,
        opens=rep.works_from,
        closes=rep.works_until,
        days=list(rep.work_days) or [0, 1, 2, 3, 4],
    )


def rep_for(cadence: Cadence, contact: Contact, now: datetime) -> Rep | None:
    """Who gets the lead: a rep who is not away, is inside working hours and holds fewer
    active leads than its capacity; by territory first when the cadence says so; among
    those the one assigned longest ago (round-robin). None: the shared pool."""
    if cadence.assignment == Cadence.Assignment.POOL:
        return None
    reps = Rep.objects.filter(away=False, user__is_active=True).select_related("team")
    if cadence.team_id:
        reps = reps.filter(team_id=cadence.team_id)
    territory = (
        contact.country.upper()
        if cadence.assignment == Cadence.Assignment.TERRITORY and contact.country
        else ""
    )
    fallback = None
    for rep in reps.order_by(F("last_assigned_at").asc(nulls_first=True), "pk"):
        if not _working(rep, now) or not _has_room(rep):
            continue
        if not territory or territory in rep.territory:
            return rep
        fallback = fallback or rep  # nobody covers the country: round-robin among all
    return fallback


# --- Starting, advancing, ending -------------------------------------------------------------


def _team_hours(enrollment_rep: Rep | None, cadence: Cadence) -> tuple[Any, Any, Any, list[int]]:
    team = (enrollment_rep.team if enrollment_rep and enrollment_rep.team_id else None) or (
        cadence.team
    )
    if team is None:
        return contact_zone("", ""), time(9), time(18), WEEKDAYS
    return contact_zone(team.time_zone, ""), team.opens, team.closes, team.business_days


def _point_at(enrollment: Enrollment, position: int, now: datetime) -> bool:
    """Point the enrollment at step `position` (its kind and due time). False when there
    is no such step: the cadence is done."""
    step = version_step(enrollment.version_id, position)
    if step is None:
        return False
    zone = contact_zone(
        enrollment.contact.time_zone, _team_hours(enrollment.rep, enrollment.cadence)[0].key
    )
    enrollment.step = position
    enrollment.kind = step.kind
    enrollment.due_at = step_due(
        started=enrollment.started_at,
        day=step.day,
        opens=step.window_from,
        closes=step.window_until,
        zone=zone,
        now=now,
    )
    if position == 1 and enrollment.first_touch_at is None:
        enrollment.due_at = min(enrollment.due_at, now)  # speed to lead: the first touch is now
    return True


def enrollment_start(
    *,
    contact: Contact,
    key: str,
    cadence: Cadence | None = None,
    rep: Rep | None = None,
    qualified_at: datetime | None = None,
    now: datetime | None = None,
    assign: bool = True,
) -> Enrollment | None:
    """Enroll `contact` (once per `key`: a retried task enrolls once). The cadence is
    chosen by the rules unless given, the rep by `rep_for` unless given. None when no
    cadence takes the lead or it is already on one (one open enrollment per contact)."""
    now = now or timezone.now()
    existing = E.objects.filter(key=key).first()
    if existing is not None:
        return existing
    if contact.merged_into_id or contact.erased_at:
        return None
    cadence = cadence or cadence_for(contact)
    if cadence is None or cadence.live_id is None:
        return None
    if E.objects.filter(contact=contact, status__in=OPEN).exists():
        return None
    if rep is None and assign:
        rep = rep_for(cadence, contact, now)
    enrollment = E(
        contact=contact,
        cadence=cadence,
        version_id=cadence.live_id,
        rep=rep,
        score=contact.score,
        qualified_at=qualified_at or now,
        started_at=now,
        key=key,
    )
    if not _point_at(enrollment, 1, now):
        return None
    policy = sla_policy()
    zone, opens, closes, days = _team_hours(rep, cadence)
    enrollment.sla_due_at = business_deadline(
        start=enrollment.qualified_at,
        minutes=policy.first_touch_minutes,
        zone=zone,
        opens=opens,
        closes=closes,
        days=days,
    )
    try:
        with transaction.atomic():
            enrollment.save()
            if rep is not None:
                Rep.objects.filter(pk=rep.pk).update(last_assigned_at=now)
    except IntegrityError:  # a concurrent start of the same key or contact won
        return E.objects.filter(key=key).first()
    return enrollment


def enrollment_advance(*, enrollment: Enrollment, now: datetime) -> Enrollment:
    """After a step is done: the next one, or the end of the cadence."""
    if not _point_at(enrollment, enrollment.step + 1, now):
        enrollment.status = E.Status.ENDED
        enrollment.outcome = E.Outcome.FINISHED
        enrollment.ended_at = now
        enrollment.kind = ""
        enrollment.due_at = None
    return enrollment


def enrollments_end(
    *, contact_ids: Iterable[int], outcome: str, note: str = "", now: datetime | None = None
) -> int:
    """End the open enrollments of these contacts with `outcome` (a reply, an order, an
    unsubscribe …). Their automatic steps stop at once: the dispatcher only takes active
    enrollments."""
    now = now or timezone.now()
    return E.objects.filter(contact_id__in=list(contact_ids), status__in=OPEN).update(
        status=E.Status.ENDED,
        outcome=outcome,
        ended_note=note[:300],
        ended_at=now,
        kind="",
        due_at=None,
        leased_to=None,
        lease_until=None,
    )


def enrollment_stop(
    *, enrollment: Enrollment, note: str = "", now: datetime | None = None
) -> Enrollment:
    if enrollment.status == E.Status.ENDED:
        raise ValidationError(_("This enrollment has ended already."))
    enrollments_end(
        contact_ids=[enrollment.contact_id], outcome=E.Outcome.STOPPED, note=note, now=now
    )
    enrollment.refresh_from_db()
    return enrollment


def enrollment_pause(*, enrollment: Enrollment) -> Enrollment:
    if enrollment.status != E.Status.ACTIVE:
        raise ValidationError(_("Only an active enrollment can be paused."))
    E.objects.filter(pk=enrollment.pk, status=E.Status.ACTIVE).update(
        status=E.Status.PAUSED, leased_to=None, lease_until=None
    )
    enrollment.refresh_from_db()
    return enrollment


def enrollment_resume(*, enrollment: Enrollment, now: datetime | None = None) -> Enrollment:
    """Resume where it stopped: the current step falls due now if its time has passed."""
    now = now or timezone.now()
    if enrollment.status != E.Status.PAUSED:
        raise ValidationError(_("Only a paused enrollment can be resumed."))
    due = max(enrollment.due_at or now, now)
    E.objects.filter(pk=enrollment.pk, status=E.Status.PAUSED).update(
        status=E.Status.ACTIVE, due_at=due
    )
    enrollment.refresh_from_db()
    return enrollment


def enrollments_start_for_segment(
    *, segment_id: int, cadence: Cadence, now: datetime | None = None, limit: int = 10_000
) -> int:
    """Bulk enroll the open members of a segment that are on no cadence now."""
    now = now or timezone.now()
    if cadence.live_id is None:
        raise ValidationError({"cadence": _("Publish the cadence before enrolling leads.")})
    contacts = Contact.objects.filter(pk__in=_segment_members(segment_id, limit)).exclude(
        enrollments__status__in=OPEN
    )
    started = 0
    for contact in contacts:
        if enrollment_start(
            contact=contact,
            key=f"bulk:{cadence.pk}:{segment_id}:{contact.pk}:{now.date()}",
            cadence=cadence,
            qualified_at=now,
            now=now,
        ):
            started += 1
    return started


def _segment_members(segment_id: int, limit: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contact_id FROM leads_segmentmembership WHERE segment_id = %s"
            " AND exited_at IS NULL ORDER BY contact_id LIMIT %s",
            [segment_id, limit],
        )
        return [row[0] for row in cursor.fetchall()]
