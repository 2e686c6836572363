"""The queue shows a rep exactly one lead, leased: the newest MQL first, then overdue steps;
no two reps get the same lead; a lapsed lease returns it; a double submit records one touch."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from cadences.models import Cadence, Enrollment, Skip, Touch
from cadences.services.enrollment import enrollment_start
from cadences.services.queue import queue_claim_next, queue_skip, touch_record
from leads.models import Contact
from tests.cadences.helpers import NOW, mql, published, rep

pytestmark = pytest.mark.django_db
E = Enrollment


def enroll(n: int, cadence: Cadence, who=None, qualified=NOW, started=NOW):  # type: ignore[no-untyped-def]
    return enrollment_start(
        contact=mql(n),
        key=f"k{n}",
        cadence=cadence,
        rep=who,
        qualified_at=qualified,
        now=started,
        assign=who is not None,
    )


def test_the_newest_mql_comes_first_then_overdue_steps_then_score():
    cadence = published()
    me = rep()
    old = enroll(1, cadence, me, qualified=NOW - timedelta(days=3), started=NOW - timedelta(days=3))
    Touch.objects.create(
        enrollment=old,
        contact=old.contact,
        rep=me,
        step=1,
        kind="call",
        disposition="no_answer",
        key="t-old",
    )
    E.objects.filter(pk=old.pk).update(
        first_touch_at=NOW - timedelta(days=3), due_at=NOW - timedelta(hours=5)
    )
    fresh = enroll(2, cadence, me, qualified=NOW - timedelta(minutes=1))
    assert queue_claim_next(rep=me, now=NOW) == fresh
    # The same lead again while the lease holds (a reload), not the next one.
    assert queue_claim_next(rep=me, now=NOW + timedelta(minutes=1)) == fresh
    touch_record(rep=me, enrollment_id=fresh.pk, disposition="no_answer", key="t1", now=NOW)
    assert queue_claim_next(rep=me, now=NOW) == old


def test_a_rep_sees_only_its_own_leads_and_the_pool():
    cadence = published()
    me, other = rep(), rep()
    enroll(1, cadence, other)
    assert queue_claim_next(rep=me, now=NOW) is None
    pooled = enroll(2, cadence, None)
    got = queue_claim_next(rep=me, now=NOW)
    assert got == pooled and got.rep == me  # the pool lead is now mine


def test_a_lapsed_lease_returns_the_lead_to_the_queue():
    cadence = published()
    pooled = enroll(1, cadence, None)
    a, b = rep(), rep()
    assert queue_claim_next(rep=a, now=NOW) == pooled
    E.objects.filter(pk=pooled.pk).update(rep=None)  # still a pool lead
    assert queue_claim_next(rep=b, now=NOW + timedelta(minutes=5)) is None
    assert queue_claim_next(rep=b, now=NOW + timedelta(minutes=11)) == pooled


def test_a_double_submitted_disposition_records_one_touch_and_moves_on_once():
    cadence = published(kinds=((0, "call"), (1, "call"), (2, "call")))
    me = rep()
    lead = enroll(1, cadence, me)
    first = touch_record(
        rep=me, enrollment_id=lead.pk, disposition="voicemail", key="submit-1", now=NOW
    )
    again = touch_record(
        rep=me, enrollment_id=lead.pk, disposition="voicemail", key="submit-1", now=NOW
    )
    assert first.created and not again.created and first.touch == again.touch
    lead.refresh_from_db()
    assert (lead.step, lead.attempts, lead.first_touch_at) == (2, 1, NOW)
    assert Touch.objects.count() == 1


def test_a_meeting_ends_the_cadence_and_makes_the_lead_an_sql():
    cadence = published()
    me = rep()
    lead = enroll(1, cadence, me)
    touch_record(rep=me, enrollment_id=lead.pk, disposition="meeting", key="m", now=NOW)
    lead.refresh_from_db()
    assert (lead.status, lead.outcome) == (E.Status.ENDED, E.Outcome.QUALIFIED)
    assert Contact.objects.get(pk=lead.contact_id).lifecycle_stage == "sql"


def test_skips_need_a_reason_are_counted_and_push_the_lead_back():
    cadence = published()
    me = rep()
    a = enroll(1, cadence, me)
    b = enroll(2, cadence, me)
    first = queue_claim_next(rep=me, now=NOW)
    with pytest.raises(ValidationError):
        queue_skip(rep=me, enrollment_id=first.pk, reason=" ")
    queue_skip(rep=me, enrollment_id=first.pk, reason="Wrong time zone", now=NOW)
    second = queue_claim_next(rep=me, now=NOW)
    assert {first, second} == {a, b} and first != second
    assert Skip.objects.get().reason == "Wrong time zone"
    assert E.objects.get(pk=first.pk).skips == 1


def test_a_foreign_rep_cannot_record_a_touch():
    cadence = published()
    mine, theirs = rep(), rep()
    lead = enroll(1, cadence, theirs)
    with pytest.raises(ValidationError):
        touch_record(rep=mine, enrollment_id=lead.pk, disposition="connected", key="x", now=NOW)


@pytest.mark.django_db(transaction=True)
def test_two_reps_asking_at_the_same_instant_get_different_leads():
    cadence = published()
    for n in range(2):
        enroll(n, cadence, None)
    reps = [rep(), rep()]
    barrier = threading.Barrier(2)
    got: list[int | None] = []

    def ask(who):  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            claimed = queue_claim_next(rep=who, now=NOW)
            got.append(claimed.pk if claimed else None)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(r,)) for r in reps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert None not in got and len(set(got)) == 2


def test_the_sales_manager_s_priority_rules_reorder_the_queue():
    from cadences.services.setup import sla_policy_save

    cadence = published()
    me = rep()
    overdue = enroll(
        1, cadence, me, qualified=NOW - timedelta(days=2), started=NOW - timedelta(days=2)
    )
    E.objects.filter(pk=overdue.pk).update(
        first_touch_at=NOW - timedelta(days=2), due_at=NOW - timedelta(hours=6), score=10
    )
    hot = enroll(2, cadence, me, qualified=NOW - timedelta(days=2), started=NOW - timedelta(days=2))
    E.objects.filter(pk=hot.pk).update(
        first_touch_at=NOW - timedelta(days=2), due_at=NOW - timedelta(hours=1), score=90
    )
    fresh = enroll(3, cadence, me, qualified=NOW - timedelta(minutes=2))
    E.objects.filter(pk=fresh.pk).update(score=5)

    def first_for(**rules):  # type: ignore[no-untyped-def]
        sla_policy_save(
            first_touch_minutes=30,
            remind_before_minutes=10,
            reassign=True,
            lease_minutes=10,
            **rules,
        )
        got = queue_claim_next(rep=me, now=NOW)
        E.objects.update(leased_to=None, lease_until=None)
        return got

    assert first_for() == fresh  # speed to lead
    assert first_for(new_leads_first=False) == overdue  # then the most overdue
    assert first_for(new_leads_first=False, then_by="score") == hot
    assert first_for(new_leads_first=True, new_lead_hours=1, then_by="score") == fresh
    with pytest.raises(ValidationError):
        sla_policy_save(
            first_touch_minutes=30,
            remind_before_minutes=10,
            reassign=True,
            lease_minutes=10,
            new_lead_hours=0,
            then_by="alphabet",
        )


def test_a_bad_lead_is_rated_with_the_touch_or_neither_is_recorded():
    from leads.models import Contact
    from leads.models.quality import LeadRating

    cadence = published()
    me = rep()
    lead = enroll(1, cadence, me)
    with pytest.raises(ValidationError):
        touch_record(
            rep=me, enrollment_id=lead.pk, disposition="bad_lead", key="no-reason", now=NOW
        )
    survivor = mql(2)
    Contact.objects.filter(pk=lead.contact_id).update(merged_into=survivor)  # merged meanwhile
    with pytest.raises(ValidationError):
        touch_record(
            rep=me,
            enrollment_id=lead.pk,
            disposition="bad_lead",
            bad_reason="spam",
            key="k",
            now=NOW,
        )
    assert not Touch.objects.exists() and E.objects.get(pk=lead.pk).status == E.Status.ACTIVE
    Contact.objects.filter(pk=lead.contact_id).update(merged_into=None)
    touch_record(
        rep=me, enrollment_id=lead.pk, disposition="bad_lead", bad_reason="spam", key="k", now=NOW
    )
    assert LeadRating.objects.get().reason == "spam"
    assert E.objects.get(pk=lead.pk).outcome == E.Outcome.BAD_LEAD
