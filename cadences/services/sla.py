"""The SLA on speed to lead: first touch within the policy's minutes of qualification, in
the team's business hours. Before the deadline the rep is reminded (an inbox task and an
e-mail); when it is missed the sales managers are alerted and, if the policy says so, the
lead goes to another rep who is working and has room. Runs from beat every minute; each
reminder and alert has a key, so a doubled beat changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from automations.models.delivery import Channel, Purpose
from automations.services.deliveries import delivery_schedule
from automations.services.inbox import task_create
from cadences.models import Enrollment
from cadences.services.enrollment import rep_for, sla_policy
from growth.roles import Role

E = Enrollment


def _name(enrollment: Enrollment) -> str:
    contact = enrollment.contact
    return (
        f"{contact.first_name} {contact.last_name}".strip()
        or contact.email
        or _("contact %(id)s") % {"id": contact.pk}
    )


def sla_sweep(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Remind, alert and reassign; returns the counts."""
    now = now or timezone.now()
    policy = sla_policy()
    counts = {"reminded": 0, "missed": 0, "reassigned": 0}
    open_sla = E.objects.filter(
        status=E.Status.ACTIVE, first_touch_at__isnull=True, sla_due_at__isnull=False
    ).select_related("contact", "rep__user", "cadence")
    remind_at = now + timedelta(minutes=policy.remind_before_minutes)
    for enrollment in open_sla.filter(
        sla_reminded_at__isnull=True, sla_due_at__lte=remind_at, sla_due_at__gt=now
    )[:limit]:
        _remind(enrollment, now)
        counts["reminded"] += 1
    for enrollment in open_sla.filter(sla_missed_at__isnull=True, sla_due_at__lte=now)[:limit]:
        if _miss(enrollment, now, reassign=policy.reassign):
            counts["reassigned"] += 1
        counts["missed"] += 1
    return counts


def _remind(enrollment: Enrollment, now: datetime) -> None:
    with transaction.atomic():
        if not E.objects.filter(pk=enrollment.pk, sla_reminded_at__isnull=True).update(
            sla_reminded_at=now
        ):
            return  # another beat did it
        if enrollment.rep is None:
            return  # the pool: the managers see it on the team board
        minutes = max(1, int((enrollment.sla_due_at - now).total_seconds() // 60))  # type: ignore[operator]
        title = _("First touch for %(name)s due in %(n)s min") % {
            "name": _name(enrollment),
            "n": minutes,
        }
        task_create(
            key=f"sla-remind:{enrollment.pk}",
            title=title,
            body=_("Open your queue: this lead is at the front."),
            contact=enrollment.contact,
            user=enrollment.rep.user,
            origin="sla",
            due_at=enrollment.sla_due_at,
        )
        if enrollment.rep.user.email:
            queue_url = settings.PUBLIC_URL + reverse("queue")
            delivery_schedule(
                key=f"sla-remind-mail:{enrollment.pk}",
                contact=None,
                to_address=enrollment.rep.user.email,
                channel=Channel.EMAIL,
                purpose=Purpose.TRANSACTIONAL,
                due_at=now,
                subject=title,
                text=_("%(title)s.\n\nYour queue: %(url)s") % {"title": title, "url": queue_url},
                origin="sla",
            )


def _miss(enrollment: Enrollment, now: datetime, *, reassign: bool) -> bool:
    """Alert the sales managers; hand the lead to another rep when allowed. True when it
    was reassigned."""
    with transaction.atomic():
        if not E.objects.filter(pk=enrollment.pk, sla_missed_at__isnull=True).update(
            sla_missed_at=now, sla_rep=enrollment.rep
        ):
            return False
        owner = str(enrollment.rep) if enrollment.rep else _("the shared pool")
        task_create(
            key=f"sla-missed:{enrollment.pk}",
            title=_("SLA missed: %(name)s was not touched in time (%(owner)s)")
            % {"name": _name(enrollment), "owner": owner},
            body=_("Qualified %(when)s on %(cadence)s.")
            % {
                "when": enrollment.qualified_at.isoformat(timespec="minutes"),
                "cadence": enrollment.cadence,
            },
            contact=enrollment.contact,
            role=Role.SALES_MANAGER,
            origin="sla",
        )
        if not reassign:
            return False
        other = rep_for(enrollment.cadence, enrollment.contact, now)
        if other is None or other.pk == enrollment.rep_id:
            return False
        E.objects.filter(pk=enrollment.pk).update(rep=other, leased_to=None, lease_until=None)
        return True
