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


@shared_task(name="leads.lifecycle_windows", ignore_result=True, queue=Queue.DEFAULT)
def lifecycle_windows() -> None:
    """Beat: buyers who stopped buying become at risk, then churned; idle MQLs/SQLs fall back."""
    from leads.services.lifecycle import lifecycle_windows_apply

    lifecycle_windows_apply()


@shared_task(name="leads.qualification_evaluate_all", ignore_result=True, queue=Queue.LONG)
def qualification_evaluate_all_task() -> None:
    """After a definition changed: every contact that could still qualify, in chunks."""
    from leads.services.qualification import qualification_evaluate_all

    qualification_evaluate_all()
