"""Celery task of the CSV import. Registered by `app.autodiscover_tasks(["leads.csv_import"])`."""

from celery import shared_task

from growth.celery import Queue
from leads.csv_import.services import contact_import_process


@shared_task(
    name="leads.contact_import_run",
    ignore_result=True,
    queue=Queue.LONG,
    acks_late=True,
    reject_on_worker_lost=True,
)
def contact_import_run(import_id: int) -> None:
    """Load an import from its cursor. A re-delivery after a lost worker resumes there."""
    contact_import_process(import_id=import_id)
