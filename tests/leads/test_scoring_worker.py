"""The recompute runs in a real Celery worker: a rule saved in the browser's transaction
queues it on commit, the worker rebuilds the ledger and the scores, nothing twice."""

import pytest

from leads.models import Contact, ScoreEntry, ScoreModel, ScoreRecompute, ScoringRule
from leads.services.scoring import scoring_apply, scoring_defaults_ensure, scoring_rule_update
from tests.leads.factories import ContactFactory, EventFactory
from tests.polling import poll


@pytest.mark.django_db(transaction=True)
def test_a_rule_change_is_recomputed_by_the_worker(celery_worker):
    scoring_defaults_ensure()  # transactional tests start from empty tables
    contact = ContactFactory(country="", company="")
    added = EventFactory(contact=contact, name="Product Added")
    scoring_apply(contact_ids=[contact.pk], event_ids=[added.pk])
    contact.refresh_from_db()
    assert contact.score == 10

    rule = ScoringRule.objects.get(model__is_primary=True, name="Product added to cart")
    scoring_rule_update(rule=rule, version=rule.version, points=25)  # enqueues on commit
    assert poll(lambda: ScoreRecompute.objects.filter(status="done").exists(), timeout=60)
    contact.refresh_from_db()
    assert contact.score == 25
    assert ScoreEntry.objects.get().points == 25
    assert not ScoringRule.objects.filter(ledger_stale=True).exists()
    assert ScoreModel.objects.get().is_primary
    assert Contact.objects.get().score == 25
