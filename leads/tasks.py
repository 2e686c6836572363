from celery import shared_task

from growth.celery import Queue
from leads.services.inbound import inbound_drain, inbound_reclaim_stale


@shared_task(name="leads.inbound_process", ignore_result=True, queue=Queue.DEFAULT)
def inbound_process() -> None:
    """Drain pending deliveries batch by batch. Safe to run on many workers at once."""
    inbound_drain()


@shared_task(name="leads.inbound_sweep", ignore_result=True, queue=Queue.DEFAULT)
def inbound_sweep() -> None:
    """Beat's safety net: whatever is pending because Redis was down or a worker died."""
    inbound_reclaim_stale()
    inbound_process()
