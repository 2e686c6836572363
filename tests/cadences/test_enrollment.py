"""Every new MQL enters a cadence at once: the cadence by its rules, the rep by who is
working and has room; it ends with the outcome on a reply, an order, an SQL or an opt-out."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from cadences.models import Cadence, Enrollment
from cadences.services.cadences import cadence_save, shipped_cadence_install
from cadences.services.enrollment import (
    cadence_for,
    enrollment_pause,
    enrollment_resume,
    enrollment_start,
    enrollments_end,
    rep_for,
)
from tests.cadences.helpers import NOW, mql, published, rep

pytestmark = pytest.mark.django_db
E = Enrollment


def test_an_mql_enters_the_matching_cadence_with_a_working_rep_and_an_sla():
    published("Everyone", rank=100)
    chosen = published("German shoppers", rank=10, rules={"countries": ["de"]})
    anna = rep()
    lead = mql(country="DE")
    enrollment = enrollment_start(contact=lead, key="mql:1", now=NOW)
    assert enrollment is not None
    assert (enrollment.cadence, enrollment.rep, enrollment.step) == (chosen, anna, 1)
    assert enrollment.due_at == NOW  # speed to lead: the first touch is due at once
    assert enrollment.sla_due_at == NOW + timedelta(minutes=30)
    # Once per qualification, and one open enrollment per contact.
    assert enrollment_start(contact=lead, key="mql:1", now=NOW) == enrollment
    assert enrollment_start(contact=lead, key="mql:2", now=NOW) is None
    assert E.objects.count() == 1
    other = mql(1, country="FR")
    assert enrollment_start(contact=other, key="mql:3", now=NOW).cadence.name == "Everyone"


def test_a_rep_who_is_away_full_or_off_duty_gets_no_new_leads():
    cadence = published()
    away = rep(away=True)
    full = rep(capacity=1)
    enrollment_start(contact=mql(0), key="k0", rep=full, cadence=cadence, now=NOW)
    off = rep()
    off.works_from, off.works_until = off.works_until, off.works_from  # 23:59 → 00:00: never
    off.save()
    fresh = rep()
    assert rep_for(cadence, mql(1), NOW) == fresh
    assert away.pk and full.pk and off.pk  # they exist, and were passed over


def test_round_robin_takes_turns_and_territory_goes_first():
    published(assignment=Cadence.Assignment.ROUND_ROBIN)
    a, b = rep(), rep()
    got = [
        enrollment_start(contact=mql(n), key=f"k{n}", now=NOW + timedelta(seconds=n)).rep
        for n in range(4)
    ]
    assert got == [a, b, a, b]
    by_land = published("By land", rank=1, assignment=Cadence.Assignment.TERRITORY)
    french = rep(territory=["FR"])
    assert rep_for(by_land, mql(9, country="FR"), NOW) == french


def test_cadences_with_the_same_rank_split_leads_by_weight():
    a = published("A", weight=50)
    b = published("B", weight=50)
    rng = random.Random(7)
    picks = [cadence_for(mql(n), rng=rng) for n in range(40)]
    assert {a, b} == set(picks) and 10 < picks.count(a) < 30


def test_ending_and_pausing():
    cadence = published()
    lead = mql()
    enrollment = enrollment_start(contact=lead, key="k", cadence=cadence, now=NOW)
    paused = enrollment_pause(enrollment=enrollment)
    assert paused.status == E.Status.PAUSED
    resumed = enrollment_resume(enrollment=paused, now=NOW + timedelta(hours=1))
    assert resumed.status == E.Status.ACTIVE and resumed.due_at == NOW + timedelta(hours=1)
    assert enrollments_end(contact_ids=[lead.pk], outcome=E.Outcome.REPLIED, now=NOW) == 1
    ended = E.objects.get()
    assert (ended.status, ended.outcome, ended.due_at) == (E.Status.ENDED, "replied", None)
    with pytest.raises(ValidationError):
        enrollment_pause(enrollment=ended)


def test_invalid_steps_are_refused_with_the_field_that_is_wrong():
    with pytest.raises(ValidationError) as problem:
        cadence_save(
            cadence=None,
            name="Broken",
            steps=[
                {"day": 3, "kind": "call"},
                {"day": 1, "kind": "email_auto"},
                {"day": 4, "kind": "fax", "from": "18:00", "until": "09:00"},
            ],
        )
    errors = problem.value.message_dict
    assert set(errors) == {"steps.2.day", "steps.2.template", "steps.3.kind", "steps.3.until"}


def test_the_shipped_cadences_install_and_publish():
    for key in ("7-in-7", "9-in-18", "18-in-35", "won-lead"):
        cadence = shipped_cadence_install(key=key, publish=True)
        assert cadence.live is not None
    counts = {c.name: c.live.steps.count() for c in Cadence.objects.all()}
    assert counts["7 touches in 7 days"] == 7
    assert counts["9 touches in 18 days"] == 9
    assert counts["18 touches in 35 days"] == 18


def test_choosing_a_rep_reads_each_rep_s_load_up_to_its_capacity_not_every_enrollment(
    django_assert_max_num_queries,
):
    cadence = published()
    for _n in range(3):
        rep(capacity=2)
    for n in range(6):  # every rep full
        enrollment_start(contact=mql(n), key=f"k{n}", cadence=cadence, now=NOW)
    lead = mql(99)
    with django_assert_max_num_queries(4):  # the reps, then one bounded count per rep
        assert rep_for(cadence, lead, NOW) is None
