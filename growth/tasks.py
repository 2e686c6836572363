"""Tasks of the project package itself: liveness of the scheduler."""

from celery import shared_task

from growth.health import record_heartbeat


@shared_task(name="growth.tasks.beat_tick", ignore_result=True)
def beat_tick() -> None:
    """Scheduled by beat every few seconds; a worker running it proves beat → broker → worker."""
    record_heartbeat("beat")
