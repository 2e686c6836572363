"""Thin Celery tasks of automations: ids in, services do the work."""

from __future__ import annotations

import logging

from celery import shared_task

from growth.celery import Queue

logger = logging.getLogger(__name__)


@shared_task(
    name="automations.delivery_send",
    ignore_result=True,
    queue=Queue.MESSAGING,
    acks_late=True,
    reject_on_worker_lost=True,
)
def delivery_send_task(delivery_id: int) -> None:
    """Idempotent: a redelivered task finds the delivery no longer queued and does nothing.
    (Kept for tasks enqueued before sends went in batches.)"""
    from automations.services.sending import deliveries_send

    deliveries_send([delivery_id])


@shared_task(
    name="automations.deliveries_send",
    ignore_result=True,
    queue=Queue.MESSAGING,
    acks_late=True,
    reject_on_worker_lost=True,
)
def deliveries_send_task(delivery_ids: list[int]) -> None:
    """A few claimed deliveries, the limiter asked for all at once, then each sent (or
    not); idempotent: a redelivered task sends only what no task has started to send."""
    from automations.services.sending import deliveries_send

    deliveries_send(delivery_ids)


@shared_task(name="automations.deliveries_dispatch", ignore_result=True, queue=Queue.DISPATCH)
def deliveries_dispatch_task() -> None:
    """Beat, every second: claim what is due, a batch at a time, until nothing is."""
    from automations.services.deliveries import DISPATCH_BATCH, deliveries_dispatch

    while len(deliveries_dispatch()) == DISPATCH_BATCH:
        pass


@shared_task(name="automations.deliveries_recover_stuck", ignore_result=True, queue=Queue.DISPATCH)
def deliveries_recover_stuck_task() -> None:
    """Beat, every few minutes: work a dead worker or a lost task left half done."""
    from automations.journeys.engine import runs_requeue_lost
    from automations.services.deliveries import deliveries_recover_stuck, deliveries_requeue_lost

    deliveries_recover_stuck()
    deliveries_requeue_lost()
    runs_requeue_lost()


@shared_task(name="automations.journeys_dispatch", ignore_result=True, queue=Queue.DISPATCH)
def journeys_dispatch_task() -> None:
    """Beat, every second, and kicked when runs start: advance every due run."""
    from automations.journeys.engine import DISPATCH_BATCH, runs_dispatch

    while len(runs_dispatch()) == DISPATCH_BATCH:
        pass


@shared_task(name="automations.journeys_on_events", ignore_result=True, queue=Queue.MESSAGING)
def journeys_on_events_task(event_ids: list[int]) -> None:
    from automations.journeys.engine import journeys_on_events

    journeys_on_events(event_ids=event_ids)


@shared_task(name="automations.journeys_on_segment", ignore_result=True, queue=Queue.MESSAGING)
def journeys_on_segment_task(segment_id: int, contact_ids: list[int], entered: bool) -> None:
    from automations.journeys.engine import journeys_on_segment

    journeys_on_segment(segment_id=segment_id, contact_ids=contact_ids, entered=entered)


@shared_task(name="automations.journeys_on_stage", ignore_result=True, queue=Queue.MESSAGING)
def journeys_on_stage_task(contact_id: int, to_stage: str, change_id: int) -> None:
    from automations.journeys.engine import journeys_on_stage

    journeys_on_stage(contact_id=contact_id, to_stage=to_stage, change_id=change_id)


@shared_task(name="automations.journeys_on_survey", ignore_result=True, queue=Queue.MESSAGING)
def journeys_on_survey_task(survey_id: int, contact_id: int, answer_id: int) -> None:
    from automations.journeys.engine import journeys_on_survey

    journeys_on_survey(survey_id=survey_id, contact_id=contact_id, answer_id=answer_id)


@shared_task(name="automations.journeys_dates", ignore_result=True, queue=Queue.DISPATCH)
def journeys_dates_task() -> None:
    """Beat, hourly: date triggers (days since the last order, birthdays) for today."""
    from automations.journeys.engine import journeys_on_dates

    journeys_on_dates()


@shared_task(name="automations.webhooks_dispatch", ignore_result=True, queue=Queue.DISPATCH)
def webhooks_dispatch_task() -> None:
    """Beat, every 2 s: refresh which event types are wanted, then claim due outbound
    webhook rows, a batch at a time, until nothing is due."""
    from automations.services.webhooks import DISPATCH_BATCH, webhook_deliveries_dispatch
    from automations.webhooks_out import wanted_types_refresh

    wanted_types_refresh()
    while len(webhook_deliveries_dispatch()) == DISPATCH_BATCH:
        pass


@shared_task(
    name="automations.webhook_deliveries_send",
    ignore_result=True,
    queue=Queue.MESSAGING,
    acks_late=True,
    reject_on_worker_lost=True,
)
def webhook_deliveries_send_task(delivery_ids: list[int]) -> None:
    """POST a few claimed webhook rows; a redelivered task sends again only the rows not
    yet delivered or failed (receivers drop repeats by X-Growth-Delivery)."""
    from automations.services.webhooks import webhook_deliveries_send

    webhook_deliveries_send(delivery_ids)
