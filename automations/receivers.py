"""automations listens to the domain signals of leads (sent on commit, ids only) and hands
the work to its workers. A signal no live journey listens to costs no task: the trigger
lookup is cached for a few seconds per process."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from automations import receivers_webhooks  # noqa: F401 (outbound webhook receivers)
from automations import signals as automation_signals
from leads import signals


def _listening(kind: str) -> bool:
    from automations.journeys.engine import live_versions

    return any(v.trigger_kind == kind for v in live_versions())


def _anything_live() -> bool:
    from automations.journeys.engine import live_versions

    return bool(live_versions())


@receiver(signals.events_recorded)
def _events_recorded(sender: Any, contact_ids: list[int], event_ids: list[int], **kw: Any) -> None:
    # Any live journey may care: event triggers, goals, and runs waiting for an event.
    from automations.tasks import journeys_on_events_task

    if _anything_live() or _runs_wait_for_events():
        journeys_on_events_task.delay(list(event_ids))


def _runs_wait_for_events() -> bool:
    from automations.models import JourneyRun

    return (
        JourneyRun.objects.filter(status=JourneyRun.Status.WAITING).exclude(waiting_for="").exists()
    )


@receiver(signals.segment_entered)
def _segment_entered(sender: Any, segment_id: int, contact_ids: list[int], **kw: Any) -> None:
    from automations.tasks import journeys_on_segment_task

    if _listening("segment_entered"):
        journeys_on_segment_task.delay(segment_id, list(contact_ids), True)


@receiver(signals.segment_exited)
def _segment_exited(sender: Any, segment_id: int, contact_ids: list[int], **kw: Any) -> None:
    from automations.tasks import journeys_on_segment_task

    if _listening("segment_exited"):
        journeys_on_segment_task.delay(segment_id, list(contact_ids), False)


@receiver(signals.stage_changed)
def _stage_changed(
    sender: Any, contact_id: int, from_stage: str, to_stage: str, change_id: int, **kw: Any
) -> None:
    from automations.tasks import journeys_on_stage_task

    if _listening("stage_changed"):
        journeys_on_stage_task.delay(contact_id, to_stage, change_id)


@receiver(signals.contacts_merged, dispatch_uid="automations.follow_merge")
def _contacts_merged(sender: Any, survivor_id: int, merged_id: int, **kw: Any) -> None:
    """Tasks, survey answers and discount codes follow the person to the surviving record."""
    from automations.services.codes import codes_move_contact
    from automations.services.inbox import tasks_move_contact
    from automations.services.surveys import answers_move_contact

    tasks_move_contact(survivor_id=survivor_id, merged_id=merged_id)
    answers_move_contact(survivor_id=survivor_id, merged_id=merged_id)
    codes_move_contact(survivor_id=survivor_id, merged_id=merged_id)


@receiver(automation_signals.survey_answered, dispatch_uid="automations.survey_journeys")
def _survey_answered(
    sender: Any, survey_id: int, contact_id: int, score: int, answer_id: int, **kw: Any
) -> None:
    from automations.tasks import journeys_on_survey_task

    if _listening("survey_answered"):
        journeys_on_survey_task.delay(survey_id, contact_id, answer_id)
