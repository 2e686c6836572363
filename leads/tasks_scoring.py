"""Celery tasks of lead scoring. Imported by LeadsConfig.ready(), which also registers the
after-batch scoring step (leads.services.scoring)."""

from celery import shared_task

from growth.celery import Queue
from leads.services.scoring import score_recompute_nightly, score_recompute_process


@shared_task(
    name="leads.score_recompute_run",
    ignore_result=True,
    queue=Queue.LONG,
    acks_late=True,
    reject_on_worker_lost=True,
)
def score_recompute_run() -> None:
    """Work through waiting recomputes. A re-delivery after a lost worker resumes from the
    last committed range; a second copy running at once finds the runner busy and returns."""
    score_recompute_process()


@shared_task(name="leads.score_recompute_nightly", ignore_result=True, queue=Queue.LONG)
def score_recompute_nightly_run() -> None:
    """Beat, once a night: decay moves every score a little."""
    score_recompute_nightly()
