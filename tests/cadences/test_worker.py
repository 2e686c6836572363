"""End to end with a real Celery worker: a contact that becomes MQL is on a cadence and at
the front of a working rep's queue within seconds; becoming SQL ends the enrollment."""

from __future__ import annotations

import pytest

from cadences.models import Enrollment
from cadences.services.queue import queue_claim_next
from leads.models import Contact
from leads.models.lifecycle import StageChange
from leads.services.lifecycle import stage_change
from tests.cadences.helpers import published, rep
from tests.leads.factories import ContactFactory
from tests.polling import poll


@pytest.mark.django_db(transaction=True)
def test_a_new_mql_reaches_a_rep_s_queue_through_the_worker(celery_worker):
    published()
    me = rep()
    contact = ContactFactory(email="new@example.com", lifecycle_stage="lead")
    stage_change(contact=contact, to_stage="mql", cause_kind=StageChange.Cause.EVENT)
    assert poll(lambda: Enrollment.objects.filter(contact=contact).exists(), timeout=20)
    enrollment = queue_claim_next(rep=me)
    assert enrollment is not None and enrollment.contact_id == contact.pk
    # The lead books a meeting by itself (SQL): the cadence ends with that outcome.
    stage_change(
        contact=Contact.objects.get(pk=contact.pk),
        to_stage="sql",
        cause_kind=StageChange.Cause.EVENT,
    )
    assert poll(
        lambda: Enrollment.objects.filter(contact=contact, outcome="qualified").exists(),
        timeout=20,
    )
