"""Data retention: old processed inbound deliveries and old events go, in bounded batches that
continue on the next run; recent rows, failed inbound deliveries and whatever references an
event stay, and the dashboards keep the history of the days whose events went."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from analytics.models import ProductDay, TrafficDay
from analytics.services.rollups import rollups_refresh
from automations.models import Journey, JourneyRun, JourneyVersion
from growth.celery import app
from growth.retention import retention_counts, retention_run
from growth.tasks import retention_run_task
from leads.models import (
    Contact,
    Event,
    InboundDelivery,
    ScoreEntry,
    Session,
    StageChange,
)
from leads.services.scoring import scoring_apply
from tests.leads.factories import ContactFactory, EventFactory, SourceFactory

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
DAY = timedelta(days=1)
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def _defaults(settings: Any) -> None:
    settings.RETENTION_INBOUND_DAYS = 90
    settings.RETENTION_EVENTS_DAYS = 730


@pytest.fixture
def now() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield NOW


def inbound(status: str, age: timedelta, source: Any) -> InboundDelivery:
    row = InboundDelivery.objects.create(
        source=source, topic="track", delivery_id=f"r{next(_serial)}", body=b"{}", status=status
    )
    InboundDelivery.objects.filter(pk=row.pk).update(received_at=NOW - age)
    return row


def event(age: timedelta, **fields: Any) -> Event:
    return EventFactory(occurred_at=NOW - age, **fields)


def remaining(model: Any) -> set[int]:
    return set(model.objects.values_list("pk", flat=True))


# --- What goes, what stays ------------------------------------------------------------------


@pytest.mark.django_db
def test_old_processed_inbound_goes_and_failed_or_unfinished_stays(now: datetime) -> None:
    source = SourceFactory()
    gone = {
        inbound("processed", 91 * DAY, source).pk,
        inbound("ignored", 400 * DAY, source).pk,
    }
    kept = {
        inbound("processed", 89 * DAY, source).pk,  # inside the window
        inbound("failed", 400 * DAY, source).pk,  # a dead letter: always kept
        inbound("pending", 200 * DAY, source).pk,
        inbound("processing", 200 * DAY, source).pk,
    }
    report = retention_run()
    assert report.inbound == 2 and report.finished
    assert remaining(InboundDelivery) == kept
    assert not gone & remaining(InboundDelivery)


@pytest.mark.django_db
def test_events_past_the_horizon_go_and_recent_ones_stay(now: datetime) -> None:
    contact = ContactFactory()
    old = [event(731 * DAY, contact=contact), event(3000 * DAY, contact=contact)]
    recent = [event(729 * DAY, contact=contact), event(DAY, contact=contact)]
    report = retention_run()
    assert report.events == 2
    assert remaining(Event) == {e.pk for e in recent}
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert all(not Event.objects.filter(pk=e.pk).exists() for e in old)


@pytest.mark.django_db
def test_zero_days_keeps_for_ever(now: datetime, settings: Any) -> None:
    settings.RETENTION_EVENTS_DAYS = 0
    settings.RETENTION_INBOUND_DAYS = 0
    event(5000 * DAY)
    inbound("processed", 5000 * DAY, SourceFactory())
    report = retention_run()
    assert (report.events, report.inbound, report.batches) == (0, 0, 0)
    assert Event.objects.count() == 1 and InboundDelivery.objects.count() == 1


@pytest.mark.django_db
def test_batches_are_bounded_and_the_next_run_continues(now: datetime) -> None:
    contact = ContactFactory()
    for days in range(800, 805):
        event(days * DAY, contact=contact)
    kept = event(10 * DAY, contact=contact)
    # No time at all: each run does one full batch and stops, saying it did not finish.
    first = retention_run(batch_size=2, time_budget=0)
    assert (first.events, first.finished) == (2, False)
    assert Event.objects.count() == 4
    second = retention_run(batch_size=2, time_budget=0)
    assert (second.events, second.finished) == (2, False)
    third = retention_run(batch_size=2, time_budget=0)
    assert (third.events, third.finished) == (1, True)
    assert remaining(Event) == {kept.pk}
    # With time enough, one run walks every batch.
    for days in range(900, 907):
        event(days * DAY, contact=contact)
    report = retention_run(batch_size=3)
    assert (report.events, report.finished) == (7, True)
    assert remaining(Event) == {kept.pk}


@pytest.mark.django_db
def test_what_references_an_event_stays_and_keeps_working(now: datetime) -> None:
    contact = ContactFactory(country="", company="")
    at = NOW - 800 * DAY
    session = Session.objects.create(contact=contact, started_at=at, last_activity_at=at)
    checkout = event(800 * DAY, contact=contact, name="Checkout Started", session=session)
    later = event(5 * DAY, contact=contact, name="Product Viewed", session=session)
    scoring_apply(contact_ids=[contact.pk], event_ids=[checkout.pk], at=at)
    contact.refresh_from_db()
    score_then = contact.score
    assert score_then > 0 and ScoreEntry.objects.filter(event_id=checkout.pk).exists()
    change = StageChange.objects.create(
        contact=contact, to_stage="mql", cause_kind="event", event_id=checkout.pk, at=at
    )
    journey = Journey.objects.create(name="Welcome", status="active")
    version = JourneyVersion.objects.create(
        journey=journey, number=1, graph={}, trigger_kind="event"
    )
    run = JourneyRun.objects.create(
        journey=journey,
        version=version,
        contact=contact,
        entry_key=f"event:{checkout.pk}",
        status="done",
        node="end",
        due_at=at,
    )

    assert retention_run().events == 1

    assert not Event.objects.filter(pk=checkout.pk).exists()
    # The ledger keeps the points (a score is the sum of its entries) ...
    assert ScoreEntry.objects.filter(event_id=checkout.pk).exists()
    scoring_apply(contact_ids=[contact.pk], event_ids=[], at=at)
    contact.refresh_from_db()
    assert contact.score == score_then
    # ... the stage change and the run keep their plain ids, the session and later events stay.
    assert StageChange.objects.get(pk=change.pk).event_id == checkout.pk
    assert JourneyRun.objects.get(pk=run.pk).entry_key == f"event:{checkout.pk}"
    assert Session.objects.filter(pk=session.pk).exists()
    assert Event.objects.get(pk=later.pk).session_id == session.pk


@pytest.mark.django_db(transaction=True)
def test_the_dashboards_keep_the_history_of_days_whose_events_went() -> None:
    """Committed rows and separate transactions, as in production: the delete's trigger marks
    the old day dirty, and the batch takes its own marks back."""
    with time_machine.travel(NOW, tick=False):
        contact = ContactFactory()
        at = NOW - 800 * DAY
        session = Session.objects.create(
            contact=contact, started_at=at, last_activity_at=at, channel="google / cpc"
        )
        event(
            800 * DAY,
            contact=contact,
            session=session,
            name="Product Viewed",
            properties={"product_id": "sku-1", "name": "Mug"},
        )
        event(DAY, contact=contact, name="Product Viewed", properties={"product_id": "sku-1"})
        rollups_refresh()
        day = at.date()
        before = TrafficDay.objects.get(day=day)
        assert before.product_views == 1
        assert ProductDay.objects.get(day=day, product="sku-1").views == 1

        assert retention_run().events == 1
        rollups_refresh()

        after = TrafficDay.objects.get(day=day)
        assert (after.sessions, after.product_views) == (1, 1)
        assert ProductDay.objects.get(day=day, product="sku-1").views == 1


# --- The command and the task ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_counts_on_a_dry_run_and_deletes_otherwise(
    now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    event(731 * DAY)
    event(DAY)
    inbound("processed", 100 * DAY, SourceFactory())
    assert (retention_counts().events, retention_counts().inbound) == (1, 1)
    call_command("retention_run", "--dry-run")
    out = capsys.readouterr().out
    assert "would delete 1" in out and Event.objects.count() == 2
    call_command("retention_run", "--batch-size", "1000")
    out = capsys.readouterr().out
    assert "events (older than 2024-06-10 12:00 UTC): deleted 1" in out
    assert Event.objects.count() == 1 and InboundDelivery.objects.count() == 0


@pytest.mark.django_db
def test_the_command_refuses_a_bad_batch_size() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="batch-size"):
        call_command("retention_run", "--batch-size", "0")


@pytest.mark.django_db
def test_the_nightly_task_is_scheduled_and_runs(now: datetime, settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["retention-nightly"]
    assert entry["task"] == "growth.retention_run" and entry["task"] in app.tasks
    assert app.tasks["growth.retention_run"].queue == "long"
    event(731 * DAY)
    retention_run_task()
    assert Event.objects.count() == 0
