"""Automatic steps (e-mail, SMS): when one falls due, the dispatcher renders its template for
the contact and hands it to the messaging layer (`automations`), which sends it through the
same send limiter as journeys: consent, suppression, quiet hours and one frequency cap
across marketing and sales. Sales messages rank above marketing ones when both are due.

Exactly once: the delivery's key is the enrollment and step, the touch's key the same, and
the enrollment moves on in the same transaction; a dispatcher killed halfway rolls back and
the next one does the step again (the delivery key keeps it one message)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from automations.models import MessageTemplate
from automations.models.delivery import Channel, Purpose
from automations.rendering import TemplateProblem, message_for
from automations.services.deliveries import delivery_schedule
from cadences.models import AUTOMATIC_KINDS, Enrollment, Step, StepKind, Touch
from cadences.services.enrollment import enrollment_advance

log = logging.getLogger(__name__)

E = Enrollment
DISPATCH_BATCH = 200
SALES_PRIORITY = 5  # above journeys' marketing messages (0) when a cap bites


def auto_steps_dispatch(*, now: datetime | None = None, limit: int = DISPATCH_BATCH) -> int:
    """Send the automatic steps that are due, a batch at a time; returns how many were
    handled. Safe from several beats at once (SKIP LOCKED)."""
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM cadences_enrollment WHERE status = 'active'"
                " AND kind = ANY(%s) AND due_at <= %s ORDER BY due_at LIMIT %s"
                " FOR UPDATE SKIP LOCKED",
                [sorted(AUTOMATIC_KINDS), now, limit],
            )
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return 0
        enrollments = list(
            E.objects.filter(pk__in=ids).select_related("contact", "cadence").order_by("due_at")
        )
        steps = {
            (s.version_id, s.position): s
            for s in Step.objects.filter(
                version_id__in={e.version_id for e in enrollments}
            ).select_related("template")
        }
        for enrollment in enrollments:
            step = steps.get((enrollment.version_id, enrollment.step))
            _send_step(enrollment, step, now)
            enrollment.attempts += 1
            enrollment_advance(enrollment=enrollment, now=now)
            enrollment.save()
    return len(ids)


def _send_step(enrollment: Enrollment, step: Step | None, now: datetime) -> None:
    key = f"cadence:{enrollment.pk}:step:{enrollment.step}"
    template: MessageTemplate | None = step.template if step else None
    delivery = None
    notes = ""
    if template is None:
        notes = _("The step's template was deleted: nothing was sent.")
    else:
        contact = enrollment.contact
        try:
            rendered = message_for(template, contact)
        except TemplateProblem as problem:
            notes = _("“%(name)s” could not be written for this contact: %(problem)s") % {
                "name": template.name,
                "problem": problem.message,
            }
        else:
            delivery = delivery_schedule(
                key=key,
                contact=contact,
                channel=Channel.EMAIL if step and step.kind == StepKind.EMAIL_AUTO else Channel.SMS,
                purpose=template.purpose
                if template.purpose == Purpose.TRANSACTIONAL
                else Purpose.SALES,
                due_at=now,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                priority=SALES_PRIORITY,
                origin="cadence",
                template=template,
                tags=[f"cadence-{enrollment.cadence_id}"],
            )
    Touch.objects.get_or_create(
        key=key,
        defaults={
            "enrollment": enrollment,
            "contact_id": enrollment.contact_id,
            "rep": enrollment.rep,
            "step": enrollment.step,
            "kind": enrollment.kind,
            "disposition": Touch.Disposition.AUTOMATIC,
            "notes": notes,
            "delivery": delivery,
            "at": now,
        },
    )
