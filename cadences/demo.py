"""The demo's sales team: three reps, the shipped cadences published (an A/B test between two
of them), the demo shop's MQLs enrolled, and a few weeks of touches, so the queue, the
contact pages and the team board have something true to show. Idempotent."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, time, timedelta

from django.db.models import Min, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_noop

from cadences.models import Cadence, Enrollment, Rep, Team
from cadences.services.cadences import cadence_publish, shipped_cadence_install
from cadences.services.enrollment import enrollment_start
from cadences.services.queue import touch_record

ENROLL_AT_MOST = 400
DISPOSITIONS = (
    ["no_answer"] * 5 + ["voicemail"] * 3 + ["connected"] * 2 + ["meeting", "not_interested"]
)
DEMO_TEAM = gettext_noop("Inside sales")
EXTRA_REPS = [("rep2", "Maya", "Okoro"), ("rep3", "Tom", "Becker")]


def _reps() -> list[Rep]:
    from growth.demo import DEMO_USERS, demo_password
    from growth.models import User
    from growth.roles import Role
    from growth.services import user_create

    team, _created = Team.objects.get_or_create(
        name=DEMO_TEAM,
        defaults={"time_zone": "Europe/Berlin", "opens": time(8), "closes": time(20)},
    )
    names = [DEMO_USERS[Role.REP], *EXTRA_REPS]
    reps = []
    for username, first, last in names:
        user = User.objects.filter(username=username).first() or user_create(
            username=username,
            password=demo_password(),
            roles=[Role.REP],
            email=f"{username}@demo.growth.local",
            first_name=first,
            last_name=last,
        )
        # Always on duty in the demo, so leads are assigned whatever the hour you try it.
        rep, _created = Rep.objects.get_or_create(
            user=user,
            defaults={
                "team": team,
                "works_from": time(0),
                "works_until": time(23, 59),
                "work_days": [0, 1, 2, 3, 4, 5, 6],
                "territory": [],
            },
        )
        reps.append(rep)
    return reps


def _cadences() -> None:
    hot = shipped_cadence_install(key="7-in-7")
    balanced = shipped_cadence_install(key="9-in-18")
    won = shipped_cadence_install(key="won-lead")
    shipped_cadence_install(key="18-in-35")  # left as a draft to edit
    Cadence.objects.filter(pk=hot.pk).update(rank=10, rules={"min_score": 60})
    # The balanced default and the won-lead pattern share every other MQL: an A/B test.
    Cadence.objects.filter(pk__in=[balanced.pk, won.pk]).update(rank=100, weight=50)
    for cadence in (hot, balanced, won):
        cadence.refresh_from_db()
        if cadence.live_id is None:
            cadence_publish(cadence=cadence)


def demo_cadences_load(advance: Callable[[int], None] = lambda n: None) -> int:
    from leads.models import Contact, Event
    from leads.models.lifecycle import StageChange

    reps = _reps()
    _cadences()
    advance(1)
    rng = random.Random(2)  # noqa: S311 (repeatable demo data, not security)
    now = timezone.now()
    # The demo shop is loaded in one go, so its stage changes all happened just now; the
    # event that qualified each lead says when that was in the shop's story.
    occurred = Event.objects.filter(pk=OuterRef("event_id")).values("occurred_at")[:1]
    qualified = dict(
        StageChange.objects.filter(to_stage="mql")
        .values("contact_id")
        .annotate(at=Min(Coalesce(Subquery(occurred), "at")))
        .values_list("contact_id", "at")
    )
    contacts = list(
        Contact.objects.filter(
            lifecycle_stage="mql", merged_into__isnull=True, erased_at__isnull=True
        )
        .exclude(enrollments__isnull=False)
        .order_by("-pk")[:ENROLL_AT_MOST]
    )
    started = 0
    for contact in contacts:
        at = min(qualified.get(contact.pk) or now, now)
        enrollment = enrollment_start(
            contact=contact,
            key=f"demo:{contact.pk}",
            qualified_at=at,
            now=at,
            rep=rng.choice(reps),
        )
        if enrollment is None:
            continue
        started += 1
        _history(enrollment, rng, now)
    advance(1)
    return started


def _history(enrollment: Enrollment, rng: random.Random, now: datetime) -> None:
    """Touches the reps made since the lead qualified: the first one minutes to a day later
    (speed to lead), then a step every day or two, as a real team would have."""
    at = enrollment.qualified_at + timedelta(minutes=rng.choice([3, 8, 12, 25, 45, 90, 300, 1500]))
    for n in range(rng.randint(0, 5)):
        if (
            at >= now
            or enrollment.status != Enrollment.Status.ACTIVE
            or enrollment.kind in ("email_auto", "sms_auto")
        ):
            return
        touch_record(
            rep=enrollment.rep,  # type: ignore[arg-type]
            enrollment_id=enrollment.pk,
            disposition=rng.choice(DISPOSITIONS),
            notes="",
            key=f"demo:{enrollment.pk}:{n}",
            now=at,
        )
        enrollment.refresh_from_db()
        at += timedelta(hours=rng.randint(20, 60))


def register_demo_step() -> None:
    from growth.demo import Step, register_step

    register_step(Step("cadences", demo_cadences_load, total=2))
