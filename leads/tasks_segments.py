"""Celery tasks of segments. Imported by LeadsConfig.ready(), which also registers the
after-batch membership step (leads.services.segments)."""

from celery import shared_task

from growth.celery import Queue
from leads.services import personas  # noqa: F401 (fills the persona hooks)
from leads.services import segments as services


@shared_task(
    name="leads.segment_compute",
    ignore_result=True,
    queue=Queue.LONG,
    acks_late=True,
    reject_on_worker_lost=True,
)
def segment_compute_task(segment_id: int) -> None:
    """A new or edited segment's full membership, range by range; a re-delivery resumes."""
    services.segment_compute(segment_id=segment_id)


@shared_task(name="leads.segments_evaluate", ignore_result=True, queue=Queue.DEFAULT)
def segments_evaluate_task(contact_ids: list[int]) -> None:
    """Contacts whose static lists changed: the segments that may name those lists."""
    services.segments_evaluate(contact_ids=contact_ids)


@shared_task(name="leads.segments_refresh", ignore_result=True, queue=Queue.LONG)
def segments_refresh_task() -> None:
    """Beat, every 10 minutes: segments whose rules drift with the clock ("in the last N
    days"), lost computations, and once a day RFM and every rule-based segment."""
    services.segments_beat()


@shared_task(name="leads.rfm_refresh", ignore_result=True, queue=Queue.LONG)
def rfm_refresh_task() -> None:
    services.rfm_refresh()
