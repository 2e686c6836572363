"""GET /metrics: the system page's figures in Prometheus' text format.

A custom collector reads `growth.ops.snapshot()` at scrape time, so every gunicorn process
answers the same figures without a background thread or a multiprocess directory: the
figures live in PostgreSQL and Redis, not in the process.

Scrapers authenticate with `Authorization: Bearer $METRICS_TOKEN`; a signed-in user with
VIEW_SYSTEM may look too. A figure that cannot be read (its part is down) is left out rather
than reported as 0, and `growth_up{part}` says which part is down.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from growth import ops
from growth.permissions import denial_message
from growth.roles import Capability, permission_name


class OpsCollector(Collector):
    def describe(self) -> list[GaugeMetricFamily]:
        return []  # nothing is read when the collector is registered, only when scraped

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snap = ops.snapshot()
        cap = f" (counts stop at {ops.COUNT_CAP})"

        up = GaugeMetricFamily(
            "growth_up",
            "1 when the part answers (worker/beat: a fresh heartbeat).",
            labels=["part"],
        )
        for name, check in snap.parts.items():
            up.add_metric([name], 1.0 if check.ok else 0.0)
        yield up

        age = GaugeMetricFamily(
            "growth_heartbeat_age_seconds",
            "Seconds since the process last wrote its heartbeat (absent: never, or Redis down).",
            labels=["process"],
        )
        for name, check in (("worker", snap.worker), ("beat", snap.beat)):
            if check.age_seconds is not None:
                age.add_metric([name], check.age_seconds)
        yield age

        depth = GaugeMetricFamily(
            "growth_queue_depth", "Celery tasks waiting in the broker queue.", labels=["queue"]
        )
        for queue in snap.queues:
            if queue.depth is not None:
                depth.add_metric([queue.name], queue.depth)
        yield depth

        consumers = GaugeMetricFamily(
            "growth_queue_consumers",
            "Live worker processes consuming the queue (absent when Redis is down).",
            labels=["queue"],
        )
        for queue in snap.queues:
            if queue.consumers is not None:
                consumers.add_metric([queue.name], queue.consumers)
        yield consumers

        # One series per worker process (the pid tells apart two with the same node name);
        # a clean shutdown removes it, one that was killed stays (growing) for a day.
        labels = ["worker", "pid", "queues"]
        last_seen = GaugeMetricFamily(
            "growth_worker_last_seen_seconds",
            "Seconds since the worker process last wrote its heartbeat.",
            labels=labels,
        )
        worker_up = GaugeMetricFamily(
            "growth_worker_up",
            "1 while the worker process beats (up or late), 0 once it is gone.",
            labels=labels,
        )
        for worker in snap.workers:
            values = [worker.beat.hostname, str(worker.beat.pid), ",".join(worker.beat.queues)]
            last_seen.add_metric(values, worker.age_seconds)
            worker_up.add_metric(values, 1.0 if worker.live else 0.0)
        yield last_seen
        yield worker_up

        due = GaugeMetricFamily(
            "growth_due_unsent", "Timed work that is due and not done yet" + cap, labels=["kind"]
        )
        oldest = GaugeMetricFamily(
            "growth_oldest_due_seconds",
            "Age of the oldest due item (0 when nothing is due).",
            labels=["kind"],
        )
        for backlog in snap.backlogs:
            due.add_metric([backlog.kind], backlog.count)
            oldest.add_metric([backlog.kind], backlog.oldest_seconds or 0.0)
        yield due
        yield oldest

        dead = GaugeMetricFamily(
            "growth_dead_letters", "Work that failed for good, all time" + cap, labels=["kind"]
        )
        dead_day = GaugeMetricFamily(
            "growth_dead_letters_last_day", "Dead letters of the last 24 hours.", labels=["kind"]
        )
        for letters in snap.dead_letters:
            dead.add_metric([letters.kind], letters.total)
            dead_day.add_metric([letters.kind], letters.last_day)
        yield dead
        yield dead_day

        if snap.rollup_lag_seconds is not None:
            yield GaugeMetricFamily(
                "growth_rollup_lag_seconds",
                "Age of the oldest change the dashboards have not recomputed yet.",
                value=snap.rollup_lag_seconds,
            )


registry = CollectorRegistry(auto_describe=False)
registry.register(OpsCollector())


def _bearer_ok(request: HttpRequest) -> bool | None:
    """True/False for a bearer token that matches or not; None when none was sent."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    expected = settings.METRICS_TOKEN
    # Constant time, and an unset METRICS_TOKEN never matches (not even an empty token).
    return bool(expected) and hmac.compare_digest(token.strip().encode(), expected.encode())


def _refuse(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type="text/plain")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@csrf_exempt  # a GET for machines; nothing to forge
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    bearer = _bearer_ok(request)
    if bearer is False:
        return _refuse(401, _("Wrong metrics token."))
    if bearer is None:
        if not request.user.is_authenticated:
            return _refuse(
                401, _("Send Authorization: Bearer with METRICS_TOKEN, or sign in as an admin.")
            )
        if not request.user.has_perm(permission_name(Capability.VIEW_SYSTEM)):
            return _refuse(403, denial_message(Capability.VIEW_SYSTEM))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
