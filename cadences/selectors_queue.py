"""What the queue shows a rep about the one lead in front of it: who it is, why it is a lead,
what happened so far, and the recommended touch with its script or composed message."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from automations.models.delivery import Channel
from automations.rendering import TemplateProblem, content_for, message_context, message_render
from cadences.models import AUTOMATIC_KINDS, Enrollment, Rep, Step, StepKind, Touch
from cadences.services.cadences import EMAIL_KINDS, SMS_KINDS
from leads.selectors import contact_timeline
from leads.selectors_scoring import contact_score_explanation

TIMELINE_ITEMS = 8
TOUCHES = 10


@dataclass
class Draft:
    """The manual e-mail or SMS composed from the step's template, for the rep to edit."""

    channel: str
    subject: str = ""
    text: str = ""
    template_id: int | None = None
    problem: str = ""


@dataclass
class QueueCard:
    enrollment: Enrollment
    step: Step | None
    touches: list[Touch]
    timeline: list[Any]
    explanation: Any
    draft: Draft | None
    waiting: int  # more leads due for this rep after this one
    overdue_by: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def is_call(self) -> bool:
        return self.enrollment.kind in (StepKind.CALL, StepKind.GHOST_CALL)


def _draft(step: Step | None, enrollment: Enrollment) -> Draft | None:
    if step is None or step.kind not in (EMAIL_KINDS | SMS_KINDS) - AUTOMATIC_KINDS:
        return None
    channel = Channel.EMAIL if step.kind in EMAIL_KINDS else Channel.SMS
    if step.template is None:
        return Draft(channel=channel)
    contact = enrollment.contact
    content = content_for(step.template, contact.locale or step.template.default_locale)
    if content is None:
        return Draft(channel=channel, template_id=step.template_id)
    try:
        rendered = message_render(content, message_context(contact))
    except TemplateProblem as problem:
        return Draft(channel=channel, template_id=step.template_id, problem=problem.message)
    return Draft(
        channel=channel,
        subject=rendered.subject,
        text=rendered.text,
        template_id=step.template_id,
    )


def due_count(*, rep: Rep, now: datetime | None = None) -> int:
    """Leads due for the rep (its own and the pool's), the one in front of it included."""
    now = now or timezone.now()
    return (
        Enrollment.objects.filter(status=Enrollment.Status.ACTIVE, due_at__lte=now)
        .filter(Q(rep=rep) | Q(rep__isnull=True))
        .exclude(kind__in=sorted(AUTOMATIC_KINDS))
        .exclude(kind="")
        .count()
    )


def queue_card(*, enrollment: Enrollment, rep: Rep, now: datetime | None = None) -> QueueCard:
    now = now or timezone.now()
    step = (
        Step.objects.select_related("template")
        .filter(version_id=enrollment.version_id, position=enrollment.step)
        .first()
    )
    touches = list(
        Touch.objects.filter(contact_id=enrollment.contact_id)
        .select_related("rep__user")
        .order_by("-at")[:TOUCHES]
    )
    timeline = contact_timeline(contact=enrollment.contact, limit=TIMELINE_ITEMS).items
    overdue = now - enrollment.due_at if enrollment.due_at and enrollment.due_at < now else None
    return QueueCard(
        enrollment=enrollment,
        step=step,
        touches=touches,
        timeline=timeline,
        explanation=contact_score_explanation(contact=enrollment.contact),
        draft=_draft(step, enrollment),
        waiting=max(0, due_count(rep=rep, now=now) - 1),
        overdue_by=overdue,
    )
