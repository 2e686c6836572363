"""The demo's sales team: reps, published cadences with an A/B pair, every MQL enrolled
with believable history, and a second run changing nothing."""

from __future__ import annotations

import pytest

from cadences.demo import demo_cadences_load
from cadences.models import Cadence, Enrollment, Rep, Touch
from leads.models.lifecycle import StageChange
from tests.cadences.helpers import mql

pytestmark = pytest.mark.django_db


def test_the_demo_enrolls_the_shop_s_mqls_with_history_and_is_idempotent(user_with_role):
    from datetime import timedelta

    from django.utils import timezone

    user_with_role()  # the role groups exist, as after the users step
    for n in range(30):
        contact = mql(n)
        StageChange.objects.create(
            contact=contact,
            from_stage="lead",
            to_stage="mql",
            cause_kind="rule",
            at=timezone.now() - timedelta(days=n % 10, hours=n),
        )
    assert demo_cadences_load() == 30
    assert Rep.objects.count() == 3
    live = Cadence.objects.filter(status="active")
    assert live.count() == 3 and {c.weight for c in live if c.rank == 100} == {50}
    assert Enrollment.objects.count() == 30
    assert Touch.objects.exists() and Touch.objects.filter(rep__isnull=False).exists()
    assert demo_cadences_load() == 0
    assert Enrollment.objects.count() == 30
