"""What the queue shows a rep about the one lead in front of it: who it is, why it is a lead,
what happened so far, and the recommended touch with its script or composed message."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from automations.models import MessageTemplate
from automations.models.delivery import Channel
from automations.rendering import TemplateProblem, message_for
from cadences.models import AUTOMATIC_KINDS, Enrollment, Rep, Step, StepKind, Touch
from cadences.published import version_step
from cadences.services.cadences import EMAIL_KINDS, SMS_KINDS
from leads.models import Contact, StageChange
from leads.selectors import contact_timeline, timeline_kinds
from leads.selectors_scoring import RuleSum
from leads.services.scoring import decay_sql

TIMELINE_ITEMS = 8
TOUCHES = 10
WHY_RULES = 5  # the card lists the primary score's five largest rules


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
    # Read fresh: the step is the shared, cached one (cadences.published); a template is not.
    template = (
        MessageTemplate.objects.filter(pk=step.template_id).first() if step.template_id else None
    )
    if template is None:
        return Draft(channel=channel)
    try:
        rendered = message_for(template, enrollment.contact)
    except TemplateProblem as problem:
        return Draft(channel=channel, template_id=step.template_id, problem=problem.message)
    return Draft(
        channel=channel,
        subject=rendered.subject,
        text=rendered.text,
        template_id=step.template_id,
    )


# Its own leads and the pool's counted apart, each from the index of due manual steps
# (enrollment_queue_waiting, migration 0003) without reading the rows: one count over
# "rep = me OR rep IS NULL" read all of the rep's rows (~10 ms at 2,000 leads per rep).
_DUE_COUNT_SQL = """
SELECT (SELECT count(*) FROM cadences_enrollment e
        WHERE e.rep_id = %(rep)s AND e.status = 'active' AND NOT (e.kind = ANY(%(auto)s))
          AND e.kind <> '' AND e.due_at <= %(now)s)
     + (SELECT count(*) FROM cadences_enrollment e
        WHERE e.rep_id IS NULL AND e.status = 'active' AND NOT (e.kind = ANY(%(auto)s))
          AND e.kind <> '' AND e.due_at <= %(now)s)
"""


def due_count(*, rep: Rep, now: datetime | None = None) -> int:
    """Leads due for the rep (its own and the pool's), the one in front of it included."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_DUE_COUNT_SQL, {"rep": rep.pk, "auto": sorted(AUTOMATIC_KINDS), "now": now})
        return int(cursor.fetchone()[0])


@dataclass
class Why:
    """What the card shows of "why this lead": the move that made it an MQL and the primary
    score's largest rules, decayed to now. The same figures as the contact page's
    `contact_score_explanation` (whose awards list, score row and threshold the card does not
    show: three queries it skips)."""

    qualified: StageChange | None = None
    by_rule: list[RuleSum] = field(default_factory=list)


def _why(contact: Contact, now: datetime) -> Why:
    value = (
        "CASE WHEN x.kind = 'behaviour' THEN x.points * "
        + decay_sql(at="%(at)s", ts="x.occurred_at", hl="m.half_life_days")
        + " ELSE x.points END"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT x.rule_id, r.name, x.kind, count(*), sum(x.points), sum({value})
            FROM leads_scoremodel m
            JOIN leads_scoreentry x ON x.model_id = m.id AND x.contact_id = %(contact)s
            JOIN leads_scoringrule r ON r.id = x.rule_id
            WHERE m.is_primary
            GROUP BY x.rule_id, r.name, x.kind
            ORDER BY sum({value}) DESC, r.name
            LIMIT %(rules)s
            """,  # noqa: S608 (fixed SQL fragments, every value bound)
            {"contact": contact.pk, "at": now, "rules": WHY_RULES},
        )
        by_rule = [RuleSum(*row) for row in cursor.fetchall()]
    qualified = (
        StageChange.objects.filter(contact=contact, to_stage="mql").order_by("-at", "-id").first()
    )
    return Why(qualified=qualified, by_rule=by_rule)


def _card_timeline_kinds() -> list[str]:
    """The timeline excerpt without touches: the card lists those in their own section."""
    return [kind for kind in timeline_kinds() if kind != "touches"]


def queue_card(*, enrollment: Enrollment, rep: Rep, now: datetime | None = None) -> QueueCard:
    now = now or timezone.now()
    step = version_step(enrollment.version_id, enrollment.step)
    touches = list(
        Touch.objects.filter(contact_id=enrollment.contact_id)
        .select_related("rep__user")
        .order_by("-at")[:TOUCHES]
    )
    timeline = contact_timeline(
        contact=enrollment.contact, kinds=_card_timeline_kinds(), limit=TIMELINE_ITEMS
    ).items
    overdue = now - enrollment.due_at if enrollment.due_at and enrollment.due_at < now else None
    return QueueCard(
        enrollment=enrollment,
        step=step,
        touches=touches,
        timeline=timeline,
        explanation=_why(enrollment.contact, now),
        draft=_draft(step, enrollment),
        waiting=max(0, due_count(rep=rep, now=now) - 1),
        overdue_by=overdue,
    )


def _held(user: Any) -> QuerySet[Enrollment]:
    """The user's enrollments as their rep, current or ended (a rep who booked the meeting
    or judged the lead still follows it up, rates it, moves its stage), and those leased to
    them now: what a rep without the contact list may act on (registered with
    `leads.access`). Reassigning an enrollment takes its contact away from the old rep."""
    return Enrollment.objects.filter(
        Q(rep__user=user) | Q(leased_to__user=user, lease_until__gte=timezone.now())
    )


def rep_holds_contact(user: Any, contact_id: int) -> bool:
    return _held(user).filter(contact_id=contact_id).exists()


def rep_contact_ids(user: Any) -> QuerySet[Any]:
    """The same contacts, all at once: their ids, a subquery for the "My contacts" list."""
    return _held(user).values("contact_id")
