"""The one Celery app. Settings live in Django settings under the CELERY_ namespace."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from enum import StrEnum
from typing import Any

from celery import Celery, bootsteps
from celery.signals import task_postrun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "growth.settings")
logger = logging.getLogger(__name__)

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
    """Writes this worker's heartbeat to Redis on the worker's own timer: the shared
    "worker" heartbeat /healthz reads, and this process's own record (host, pid, queues,
    concurrency, tasks) for the system page and /metrics.

    A timer of the worker's main process rather than Celery's signals: `heartbeat_sent`
    fires only with events on (`-E`), `worker_ready` only once. It runs independent of beat,
    so /healthz can tell a dead worker from a dead scheduler. A clean shutdown, warm or cold,
    removes the record; one that stops beating without it was killed (SIGKILL, out of
    memory, a lost machine) and the system page shows it as gone until its record expires.
    """

    requires = ("celery.worker.components:Timer",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None
        self.worker_id = ""
        self.started_at = 0.0
        # Some pools run the timer in a thread of its own: a beat already under way must not
        # write the record again after stop() removed it.
        self.lock = threading.Lock()
        self.running = False

    def start(self, parent: Any) -> None:
        from django.conf import settings

        self.started_at = time.time()
        self.running = True
        self.beat(parent)
        self.tref = parent.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_INTERVAL, self.beat, (parent,), priority=10
        )

    def beat(self, parent: Any) -> None:
        from celery.worker import state

        from growth.health import WorkerBeat, record_heartbeat, record_worker

        record_heartbeat("worker")
        # The consumer's queues follow `celery control add_consumer`/`cancel_consumer`;
        # before it starts (the first beat) they are the ones -Q selected.
        consumer = getattr(getattr(parent, "consumer", None), "task_consumer", None)
        if consumer is not None:
            queues = {q.name for q in consumer.queues}
        else:
            queues = set(parent.app.amqp.queues.consume_from)
        beat = WorkerBeat(
            hostname=parent.hostname,
            pid=os.getpid(),
            queues=tuple(sorted(queues)),
            concurrency=int(parent.concurrency or 0),
            started_at=self.started_at,
            last_seen=time.time(),
            processed=sum(state.total_count.values()),
            active=len(state.active_requests),
        )
        with self.lock:
            if self.running:
                self.worker_id = beat.id
                record_worker(beat)

    def stop(self, parent: Any) -> None:
        from growth.health import forget_worker

        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        with self.lock:
            self.running = False
        if self.worker_id:
            try:
                forget_worker(self.worker_id)
            except Exception:  # Redis gone: the record expires by itself; never block shutdown
                logger.warning("could not remove the heartbeat of %s", self.worker_id)
            self.worker_id = ""

    # A cold shutdown (a second Ctrl-C, SIGQUIT) removes the record too.
    terminate = stop


app.steps["worker"].add(WorkerHeartbeat)


@task_postrun.connect(weak=False)
def _connections_as_after_a_request(**kwargs: Any) -> None:
    """With CELERY_DB_REUSE_MAX set, Celery keeps a worker's database connection between
    tasks; Django's own rule (CONN_MAX_AGE, health checks, a connection that saw an error)
    decides after each task, as it does after a request."""
    from django.db import close_old_connections

    close_old_connections()


@worker_init.connect(weak=False)
def _preload_send_path(**kwargs: Any) -> None:
    """In the worker's main process, before the pool forks its children: what every child
    would otherwise load during its first send (the send path's modules, the providers'
    clients' lazy imports, the URL resolver's reverse table the unsubscribe links and the
    Twilio status callback use, the translation catalogs the limiter's reasons come from)
    is loaded once and inherited. The children's first batches then cost what later ones
    do. Nothing here touches the database or the network."""
    from django.urls import NoReverseMatch, reverse
    from django.utils.translation import gettext

    try:
        from automations import providers
        from automations.services import sending  # noqa: F401

        providers.preload()
        with contextlib.suppress(NoReverseMatch):  # a URLconf without the webhooks
            reverse("webhook_twilio_status")
        gettext("Growth")
    except Exception:  # only a head start: a bad setting (EMAIL_BACKEND …) shows on the
        # deliveries as before, and must not keep the worker's other queues from running
        logger.warning("could not load the send path before forking", exc_info=True)
