"""Thin Celery tasks of cadences: ids in, services do the work."""

from __future__ import annotations

from celery import shared_task

from growth.celery import Queue


@shared_task(name="cadences.enroll_mql", ignore_result=True, queue=Queue.MESSAGING)
def enroll_mql_task(contact_id: int, change_id: int) -> None:
    """A contact became MQL: it enters a cadence at once (once per stage change)."""
    from cadences.services.enrollment import enrollment_start
    from leads.models import Contact
    from leads.models.lifecycle import StageChange

    contact = Contact.objects.filter(pk=contact_id).first()
    change = StageChange.objects.filter(pk=change_id).first()
    if contact is None:
        return
    enrollment_start(
        contact=contact,
        key=f"mql:{change_id}",
        qualified_at=change.at if change is not None else None,
    )


@shared_task(name="cadences.enrollments_end", ignore_result=True, queue=Queue.MESSAGING)
def enrollments_end_task(contact_ids: list[int], outcome: str, note: str = "") -> None:
    from cadences.services.enrollment import enrollments_end

    enrollments_end(contact_ids=contact_ids, outcome=outcome, note=note)


@shared_task(name="cadences.steps_dispatch", ignore_result=True, queue=Queue.DISPATCH)
def steps_dispatch_task() -> None:
    """Beat, every few seconds: automatic steps that fell due."""
    from cadences.services.steps import DISPATCH_BATCH, auto_steps_dispatch

    while auto_steps_dispatch() == DISPATCH_BATCH:
        pass


@shared_task(name="cadences.sla_sweep", ignore_result=True, queue=Queue.DISPATCH)
def sla_sweep_task() -> None:
    from cadences.services.sla import sla_sweep

    sla_sweep()
