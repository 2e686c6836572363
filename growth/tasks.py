"""Tasks of the project package itself: liveness of the scheduler, data retention."""

from celery import shared_task

from growth.celery import Queue
from growth.health import record_heartbeat


@shared_task(name="growth.tasks.beat_tick", ignore_result=True)
def beat_tick() -> None:
    """Scheduled by beat every few seconds; a worker running it proves beat → broker → worker."""
    record_heartbeat("beat")


@shared_task(name="growth.retention_run", ignore_result=True, queue=Queue.LONG)
def retention_run_task() -> None:
    """Nightly: delete what is past its retention, in batches within a time budget; what is
    left over goes the next night (or run `manage.py retention_run`)."""
    from growth.retention import retention_run

    retention_run()
