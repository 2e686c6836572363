"""Automatic steps go out through the messaging layer at their due time: once, through the
one send limiter shared with journeys, never to a contact who opted out."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils.timezone import now

from automations.models import Delivery
from automations.services.deliveries import deliveries_dispatch, delivery_schedule
from automations.services.sending import deliveries_send
from cadences.models import Enrollment, Touch
from cadences.services.cadences import shipped_cadence_install
from cadences.services.enrollment import enrollment_start
from cadences.services.steps import auto_steps_dispatch
from leads.models import Consent
from tests.cadences.helpers import NOW, mql, published

pytestmark = pytest.mark.django_db
E = Enrollment


def intro_template() -> int:
    cadence = shipped_cadence_install(key="7-in-7")  # writes the shipped sales templates
    return next(s["template"] for s in cadence.draft_steps if s["kind"] == "email_auto")


def send_everything(now):  # type: ignore[no-untyped-def]
    with time_machine.travel(now, tick=False):
        auto_steps_dispatch(now=now)
        deliveries_send(deliveries_dispatch(now=now), now=now)


def test_an_automatic_email_step_is_sent_once_and_the_cadence_moves_on(standin_settings):
    cadence = published("Auto", kinds=((0, "email_auto"), (2, "call")), template=intro_template())
    lead = mql(first_name="Mia")
    enrollment = enrollment_start(contact=lead, key="k", cadence=cadence, assign=False, now=NOW)
    send_everything(NOW)
    send_everything(NOW + timedelta(seconds=5))  # a second beat: nothing more
    [mail] = standin_settings.emails
    assert "Mia" in mail.subject and mail.key == f"cadence:{enrollment.pk}:step:1"
    enrollment.refresh_from_db()
    assert (enrollment.step, enrollment.kind) == (2, "call")
    assert enrollment.due_at.date() == (NOW + timedelta(days=2)).date()
    touch = Touch.objects.get()
    assert touch.disposition == "automatic" and touch.delivery.status == Delivery.Status.SENT
    assert touch.delivery.purpose == "sales"


def test_a_cadence_email_and_a_journey_email_share_one_daily_cap(standin_settings):
    cadence = published("Auto", kinds=((0, "email_auto"),), template=intro_template())
    lead = mql()
    delivery_schedule(
        key="journey-1",
        contact=lead,
        channel="email",
        purpose="marketing",
        due_at=NOW,
        subject="News",
        text="News",
    )
    enrollment_start(contact=lead, key="k", cadence=cadence, assign=False, now=NOW)
    send_everything(NOW)
    assert len(standin_settings.emails) == 1  # the sales message outranks the newsletter
    held = Delivery.objects.get(key="journey-1")
    assert held.status == Delivery.Status.SCHEDULED and "at most 1" in held.reason


def test_an_opt_out_mid_cadence_ends_it_and_stops_every_later_automatic_step(
    standin_settings, monkeypatch, django_capture_on_commit_callbacks
):
    from cadences.tasks import enrollments_end_task
    from leads.services.consent import consent_set

    # The broker hands the task to a worker: here, this process runs it.
    monkeypatch.setattr(enrollments_end_task, "delay", enrollments_end_task.run)
    cadence = published("Auto", kinds=((0, "call"), (1, "email_auto")), template=intro_template())
    lead = mql()
    enrollment_start(contact=lead, key="k", cadence=cadence, assign=False, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        consent_set(
            contact=lead, channel="email", status=Consent.Status.DENIED, source="test", at=now()
        )
    ended = E.objects.get()
    assert (ended.status, ended.outcome) == (E.Status.ENDED, E.Outcome.UNSUBSCRIBED)
    send_everything(NOW + timedelta(days=1, hours=2))
    assert standin_settings.emails == [] and not Touch.objects.exists()


def test_a_dispatcher_killed_mid_step_leaves_nothing_half_done_and_the_next_sends_once(
    standin_settings, monkeypatch
):
    from cadences.services import steps

    cadence = published("Auto", kinds=((0, "email_auto"), (3, "call")), template=intro_template())
    enrollment_start(contact=mql(), key="k", cadence=cadence, assign=False, now=NOW)

    def dies(**kwargs):  # type: ignore[no-untyped-def]
        raise SystemExit("worker killed")

    monkeypatch.setattr(steps, "enrollment_advance", dies)
    with pytest.raises(SystemExit):
        auto_steps_dispatch(now=NOW)
    assert not Delivery.objects.exists() and not Touch.objects.exists()  # rolled back
    monkeypatch.undo()
    send_everything(NOW + timedelta(seconds=10))
    assert len(standin_settings.emails) == 1 and Touch.objects.count() == 1


def test_leads_enrolled_before_an_edit_stay_on_their_version():
    from cadences.services.cadences import cadence_publish, cadence_save
    from tests.cadences.helpers import steps as step_rows

    cadence = published("Versioned", kinds=((0, "call"), (1, "call")))
    before = enrollment_start(contact=mql(1), key="a", cadence=cadence, assign=False, now=NOW)
    cadence_save(
        cadence=cadence,
        name="Versioned",
        steps=step_rows((0, "ghost_call"), (5, "social"), (9, "call")),
    )
    cadence_publish(cadence=cadence)
    after = enrollment_start(contact=mql(2), key="b", cadence=cadence, assign=False, now=NOW)
    assert before.version.number == 1 and after.version.number == 2
    assert (before.kind, after.kind) == ("call", "ghost_call")
    from cadences.services.queue import touch_record
    from tests.cadences.helpers import rep

    me = rep()
    touch_record(rep=me, enrollment_id=before.pk, disposition="no_answer", key="t1", now=NOW)
    before.refresh_from_db()
    assert (before.step, before.kind) == (2, "call")  # v1's second step, not v2's
