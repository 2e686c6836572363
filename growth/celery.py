"""The one Celery app. Settings live in Django settings under the CELERY_ namespace."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Any

from celery import Celery, bootsteps
from celery.signals import task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "growth.settings")

app = Celery("growth")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["leads.csv_import"])  # tasks outside a `tasks` module


class Queue(StrEnum):
    """Queues by kind of work, so a flood of one kind never starves another."""

    DEFAULT = "default"
    MESSAGING = "messaging"
    # Beat's claimers (due deliveries and journey runs): never queued behind the sends they
    # create, or a backlog of sends starves the dispatcher that should drain it.
    DISPATCH = "dispatch"
    LONG = "long"
    ANALYTICS = "analytics"


ALL_QUEUES = ",".join(q.value for q in Queue)


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Writes this worker's heartbeat to Redis on the worker's own timer.

    It runs inside the worker process, independent of beat, so /healthz can tell a dead
    worker from a dead scheduler.
    """

    requires = ("celery.worker.components:Timer",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None

    def start(self, parent: Any) -> None:
        from django.conf import settings

        from growth.health import record_heartbeat

        record_heartbeat("worker")
        self.tref = parent.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_INTERVAL, record_heartbeat, ("worker",), priority=10
        )

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


app.steps["worker"].add(WorkerHeartbeat)


@task_postrun.connect(weak=False)
def _connections_as_after_a_request(**kwargs: Any) -> None:
    """With CELERY_DB_REUSE_MAX set, Celery keeps a worker's database connection between
    tasks; Django's own rule (CONN_MAX_AGE, health checks, a connection that saw an error)
    decides after each task, as it does after a request."""
    from django.db import close_old_connections

    close_old_connections()
