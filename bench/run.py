"""Growth benchmarks: each scenario against its baseline, same run, same machine.

Run from the repository root (`make bench` does this):

    .venv/bin/python bench/run.py [--duration 5] [--concurrency 8] [--scenario healthz]

For every scenario the harness measures the baseline path and the scenario's path with the
same closed-loop driver against one gunicorn, prints one table and writes a JSON report.
What matters is the ratio to the baseline, not the absolute numbers: the driver runs on the
same CPUs as the server. The "ingest-lag" phase instead sends at a fixed rate with a real
Celery worker running and measures how long stored messages wait to become events.
Nothing here asserts a wall-clock threshold: goals are reported as met or not met. The exit
status is non-zero only when the server does not start, a request fails or an integrity
count (lost, doubled, failed) is not zero. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fnmatch
import http.client
import itertools
import json
import math
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
# `python bench/run.py` puts bench/ itself first on sys.path, where bench/queue.py would stand
# in for the standard library's `queue` (asyncio and concurrent.futures import it): import
# from the repository root only.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import analytics, csv_import, ingest, messaging, queue, reads, scoring, segments  # noqa: E402  (needs the repository on sys.path)

HOST = "127.0.0.1"  # all benchmark traffic stays on this machine
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/growth_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 4
STARTUP_TIMEOUT = 60.0
CELERY_CONCURRENCY = 2
POLL_INTERVAL = 0.1  # seconds between database polls while waiting for the worker
LAG_GOAL_RATE = 1_000  # the goal: p95 lag ≤ 5 s at 1,000 events/s
LAG_GOAL_P95 = 5.0


# --- Requests and scenarios ---------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes | None = None
    # Delivery ids the request carries: after the load, those answered 2xx are looked up in
    # the database (lost / doubled).
    ids: tuple[str, ...] = ()


# Called by the driver threads for every request: must be thread-safe and cheap.
RequestFactory = Callable[[], Request]
# Builds one measurement's factory from the run's sources and an id prefix unique to it.
TargetBuilder = Callable[[ingest.Sources | None, str], RequestFactory]


def get_requests(path: str) -> RequestFactory:
    request = Request("GET", path, {"Host": "localhost"})
    return lambda: request


def segment_requests(sources: ingest.Sources | None, prefix: str) -> RequestFactory:
    """POST /ingest/v1/batch: MESSAGES_PER_BATCH track messages, message ids prefix + n-i."""
    assert sources is not None
    counter = itertools.count()
    rng = random.Random(prefix)
    write_key = base64.b64encode(f"{sources.write_key}:".encode()).decode()
    headers = {
        "Host": "localhost",
        "Content-Type": "application/json",
        "Authorization": f"Basic {write_key}",
        "User-Agent": "growth-bench (analytics.js-shaped batches)",
    }

    def make() -> Request:
        body, ids = ingest.segment_batch(f"{prefix}{next(counter)}", ingest.MESSAGES_PER_BATCH, rng)
        return Request("POST", "/ingest/v1/batch", headers, body, tuple(ids))

    return make


_ORDER_IDS = itertools.count(5_000_000_000)  # unique Shopify order ids within the run


def shopify_requests(sources: ingest.Sources | None, prefix: str) -> RequestFactory:
    """POST /webhooks/shopify/<slug>/: one signed orders/create, webhook id prefix + n."""
    assert sources is not None
    counter = itertools.count()
    rng = random.Random(prefix)
    path = f"/webhooks/shopify/{sources.shopify_slug}/"

    def make() -> Request:
        webhook_id = f"{prefix}{next(counter)}"
        body, headers = ingest.shopify_delivery(sources, webhook_id, next(_ORDER_IDS), rng)
        return Request("POST", path, {"Host": "localhost", **headers}, body, (webhook_id,))

    return make


@dataclass(frozen=True)
class Goal:
    """The issue's bench goal for an endpoint, reported as met or not (never asserted)."""

    min_rps_ratio: float
    max_p99_ms: float

    def describe(self) -> str:
        return (
            f"accepted req/s >= {self.min_rps_ratio:g}x baseline and p99 <= {self.max_p99_ms:g} ms"
        )

    def assess(self, baseline: Measurement, target: Measurement) -> dict[str, Any]:
        ratio = target.accepted_rps / baseline.rps if baseline.rps else 0.0
        return {
            "goal": self.describe(),
            "accepted_rps_ratio": round(ratio, 3),
            "p99_ms": target.p99_ms,
            "met": ratio >= self.min_rps_ratio and target.p99_ms <= self.max_p99_ms,
        }


INGEST_GOAL = Goal(min_rps_ratio=0.5, max_p99_ms=50.0)


@dataclass(frozen=True)
class LatencyGoal:
    """A read page's goal: p95 latency at the generated shop's size (never asserted)."""

    max_p95_ms: float

    def assess(self, baseline: Measurement, target: Measurement) -> dict[str, Any]:
        data = _read_data
        size = f"{data.contacts:,} contacts / {data.events:,} events" if data else "?"
        return {
            "goal": f"p95 <= {self.max_p95_ms:g} ms (the issue states it at 1,000,000 / 20,000,000)",
            "detail": f"p95 {target.p95_ms:.1f} ms at {size}",
            "p95_ms": target.p95_ms,
            "met": target.p95_ms <= self.max_p95_ms,
        }


READ_GOAL = LatencyGoal(max_p95_ms=100.0)
# The generated shop the read scenarios use; set by run() before the first of them.
_read_data: reads.ReadData | None = None


def read_requests(pick: Callable[[random.Random, reads.ReadData], str]) -> TargetBuilder:
    def build(sources: ingest.Sources | None, prefix: str) -> RequestFactory:
        assert _read_data is not None
        make = reads.requests_for(_read_data, pick, prefix)

        def request() -> Request:
            path, headers = make()
            return Request("GET", path, headers)

        return request

    return build


@dataclass(frozen=True)
class Scenario:
    name: str
    baseline_path: str
    path: str
    description: str
    # The target's requests; None: GET `path`. The baseline is always GET `baseline_path`.
    target: TargetBuilder | None = None
    goal: Goal | LatencyGoal | None = None
    # "compare": baseline vs target, closed loop. "lag": target alone at --lag-rate events/s
    # with a Celery worker running, then the processing lag (no baseline).
    # "import": bench/csv_import.py (CSV import through a Celery worker vs a raw COPY).
    # "scoring": bench/scoring.py (full score recompute vs a hand-written GROUP BY … UPDATE).
    # "segments": bench/segments.py (segment preview count and membership lag).
    # "messaging": bench/messaging.py (dispatch, journey lag, opt-out; issue #6).
    # "queue": bench/queue.py (reps claiming over HTTP, new MQL to the queue; issue #7).
    # "analytics": bench/analytics.py (dashboards warm and cold, rollup lag; issue #8).
    mode: Literal[
        "compare", "lag", "import", "scoring", "segments", "messaging", "queue", "analytics"
    ] = "compare"
    # Writes leads rows: needs the run's sources, starts on empty leads tables, and what
    # was answered 2xx is counted in the database afterwards.
    ingest: bool = False
    # Reads the generated shop (--contacts / --events), loaded before the first such scenario.
    reads: bool = False

    def label(self) -> str:
        if self.target is None or self.reads:
            return self.path
        return f"POST {self.path}"


# The registry: later scenarios (import, scoring, KPIs) append here.
SCENARIOS: list[Scenario] = [
    Scenario(
        name="healthz",
        baseline_path="/bench/bare",
        path="/healthz",
        description="Health probe (one SELECT 1, Redis PING and GETs) vs a bare Django view.",
    ),
    Scenario(
        name="contacts-search",
        baseline_path="/bench/bare",
        path="/contacts/?q=<last name>",
        description="Contact search by name as a signed-in admin (trigram index), vs a bare view.",
        target=read_requests(reads.search_path),
        goal=READ_GOAL,
        reads=True,
    ),
    Scenario(
        name="contact-timeline",
        baseline_path="/bench/bare",
        path="/contacts/<id>/",
        description="One contact's page and unified timeline as a signed-in admin, vs a bare view.",
        target=read_requests(reads.timeline_path),
        goal=READ_GOAL,
        reads=True,
    ),
    Scenario(
        name="ingest-segment",
        baseline_path="/bench/bare",
        path="/ingest/v1/batch",
        description=(
            f"Segment batch of {ingest.MESSAGES_PER_BATCH} e-commerce track messages "
            f"(write key, {ingest.USER_POOL:,} visitors), stored raw, vs a bare Django view."
        ),
        target=segment_requests,
        goal=INGEST_GOAL,
        ingest=True,
    ),
    Scenario(
        name="ingest-shopify",
        baseline_path="/bench/bare",
        path="/webhooks/shopify/<slug>/",
        description=(
            "Signed Shopify orders/create webhook (HMAC over the raw body, "
            f"{ingest.CUSTOMER_POOL:,} customers), stored raw, vs a bare Django view."
        ),
        target=shopify_requests,
        goal=INGEST_GOAL,
        ingest=True,
    ),
    Scenario(
        name="ingest-lag",
        baseline_path="",
        path="/ingest/v1/batch",
        description=(
            "Segment batches at --lag-rate events/s with a Celery worker "
            f"(-c {CELERY_CONCURRENCY}) processing: lag from raw row to event row."
        ),
        target=segment_requests,
        mode="lag",
        ingest=True,
    ),
    Scenario(
        name="csv-import",
        baseline_path="",
        path="CSV import",
        description=(
            "Contacts CSV of --contacts rows (default 100,000) uploaded and imported through a "
            "Celery worker, vs a raw COPY of the same file into an unlogged table."
        ),
        mode="import",
    ),
    Scenario(
        name="scoring-recompute",
        baseline_path="",
        path="score recompute",
        description=(
            "Full score recompute of the generated shop (--contacts / --events): nightly decay "
            "and every rule rebuilt, vs hand-written GROUP BY ... UPDATE statements."
        ),
        mode="scoring",
    ),
    Scenario(
        name="segment-preview",
        baseline_path="",
        path="segment preview",
        description=(
            "Segment editor's live count on the generated shop (five rule sets) vs a "
            "hand-written count, and membership lag after a batch (bench/segments.py)."
        ),
        mode="segments",
    ),
    Scenario(
        name="messaging-dispatch",
        baseline_path="",
        path="deliveries dispatched and sent",
        description=(
            "Touches due (a burst, then --contacts spread over the window) sent by beat and a "
            "Celery worker through the real clients to the stand-in, vs the clients in a loop."
        ),
        mode="messaging",
    ),
    Scenario(
        name="journey-lag",
        baseline_path="",
        path="/ingest/v1/batch",
        description=(
            "Segment batches at --journey-rate events/s; lag from the raw row to the journey "
            "run a trigger event starts (and to its e-mail at the stand-in)."
        ),
        mode="messaging",
    ),
    Scenario(
        name="opt-out",
        baseline_path="",
        path="/webhooks/twilio/inbound/",
        description=(
            "Signed Twilio STOP webhooks while SMS keep coming due: lag from the STOP to the "
            "consent denied, and no SMS at the stand-in afterwards."
        ),
        mode="messaging",
    ),
    Scenario(
        name="queue-claims",
        baseline_path="/bench/bare",
        path="POST /queue/touch",
        description=(
            "--queue-reps reps (50) over HTTP on --contacts active enrollments (the issue's "
            "size: 100,000): GET /queue/, then record no_answer and get the next lead, closed "
            "loop; claims/s, latency and double assignments."
        ),
        mode="queue",
    ),
    Scenario(
        name="queue-lag",
        baseline_path="",
        path="/ingest/v1/batch",
        description=(
            "Newsletter sign-ups of new visitors (MQL at once) at --queue-lag-rate/s with a "
            "Celery worker: lag from the raw row to the enrollment in a rep's queue."
        ),
        mode="queue",
    ),
    Scenario(
        name="dashboards",
        baseline_path="/bench/analytics-baseline",
        path="/dashboards/ and /dashboards/marketing/",
        description=(
            "Each dashboard under four filters on the generated shop (--analytics-orders / "
            "--analytics-sessions, its own database), warm and cold, vs the hand-written SQL "
            "aggregate over the raw tables for the same figures."
        ),
        mode="analytics",
    ),
    Scenario(
        name="rollup-lag",
        baseline_path="",
        path="/webhooks/shopify/<slug>/",
        description=(
            "Shopify orders/create at --analytics-lag-rate with a Celery worker and beat on top "
            "of the generated shop: lag from the raw row to the order in the rollups."
        ),
        mode="analytics",
    ),
]


@dataclass
class Measurement:
    path: str
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    p95_ms: float = 0.0
    accepted: int = 0  # answered 2xx
    accepted_rps: float = 0.0
    error_samples: list[str] = field(default_factory=list)
    # Ids carried by the requests answered 2xx (not written to the report).
    accepted_ids: list[str] = field(default_factory=list, repr=False)

    def report(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "accepted_ids"}


class BenchError(Exception):
    """A failure that stops the run with a message and a non-zero exit status."""


# --- Environment and database -------------------------------------------------------------


def bench_env(database_url: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "STATIC_MANIFEST": "0",
            "ROOT_URLCONF": "bench.urls",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SETTINGS_MODULE": "growth.settings",
            "LOG_LEVEL": "WARNING",
            # The heartbeat is written once before the run; keep /healthz from calling the
            # worker gone however long the run takes.
            "WORKER_HEARTBEAT_MAX_AGE": "86400",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def ensure_database(database_url: str) -> None:
    """Create the benchmark database if it does not exist yet (connecting to `postgres`)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name:
        raise BenchError(f"DATABASE_URL has no database name: {database_url}")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"created database {name}")
    except psycopg.Error as exc:
        raise BenchError(f"cannot reach PostgreSQL at {parts.hostname}: {exc}") from exc


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise BenchError(f"manage.py {args[0]} failed (exit {result.returncode}):\n{output}")


def record_worker_heartbeat(env: dict[str, str]) -> None:
    # /healthz answers 503 without a recent worker heartbeat. The benchmark measures the cost
    # of the view, not worker liveness, so it writes the heartbeat itself instead of running
    # a Celery worker next to the server.
    manage(
        env, "shell", "-c", "from growth.health import record_heartbeat; record_heartbeat('worker')"
    )


def purge_tasks(env: dict[str, str]) -> None:
    """Drop the processing tasks that ingest requests enqueued while no worker ran, so they
    do not pile up in the benchmark's Redis database between runs."""
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "growth", "purge", "-f", "-Q", "default"],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=False,
        timeout=60,
    )


# --- Server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def gunicorn_command(port: int) -> list[str]:
    executable = REPO / ".venv" / "bin" / "gunicorn"
    prefix = [str(executable)] if executable.exists() else [sys.executable, "-m", "gunicorn"]
    return [
        *prefix,
        "growth.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(GUNICORN_WORKERS),
        "--worker-class",
        "gthread",
        "--threads",
        str(GUNICORN_THREADS),
        "--keep-alive",
        "30",
        "--timeout",
        "60",
    ]


class Background:
    """A child in its own process group, so stopping it stops every process it forked."""

    name = "process"

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def ensure_running(self, doing: str) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise BenchError(
                f"{self.name} exited with status {self.process.returncode} {doing}:\n"
                + self.log_tail()
            )

    def stop(self, timeout: float = 10.0) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=timeout)
        # Children outlive a parent that died: clean up the whole group either way.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.poll() is None:
            process.wait()
        self.process = None


class Server(Background):
    """gunicorn: stopping it stops every worker with it."""

    name = "gunicorn"

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        super().__init__(env, log_path)
        self.port = free_port()

    def command(self) -> list[str]:
        return gunicorn_command(self.port)

    def wait_until_up(self, path: str, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            self.ensure_running("while starting")
            status, _body, error = fetch(self.port, path)
            if status is not None and 200 <= status < 300:
                return
            last_error = error or f"HTTP {status}"
            time.sleep(0.2)
        raise BenchError(
            f"gunicorn did not answer {path} within {timeout:.0f}s ({last_error}):\n"
            + self.log_tail()
        )


class Worker(Background):
    """A real Celery worker on the default queue (no beat). --purge drops the tasks the
    earlier scenarios enqueued with no worker running; mingle and gossip only slow the
    start of a lone worker."""

    name = "celery worker"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "growth",
            "worker",
            "-Q",
            "default",
            "-c",
            str(CELERY_CONCURRENCY),
            "--loglevel",
            "WARNING",
            "--purge",
            "--without-mingle",
            "--without-gossip",
        ]


# --- Load driver --------------------------------------------------------------------------


def fetch(port: int, path: str, timeout: float = 5.0) -> tuple[int | None, bytes, str | None]:
    """One GET on a fresh connection: (status, body, error)."""
    return send(port, Request("GET", path, {"Host": "localhost"}), timeout=timeout)


def send(port: int, request: Request, timeout: float = 5.0) -> tuple[int | None, bytes, str | None]:
    """One request on a fresh connection: (status, body, error)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(request.method, request.path, body=request.body, headers=request.headers)
        response = conn.getresponse()
        return response.status, response.read(), None
    except (OSError, http.client.HTTPException) as exc:
        return None, b"", f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


def drive(
    port: int,
    requests: RequestFactory,
    *,
    label: str,
    duration: float,
    concurrency: int,
    max_requests: int,
    rate: float | None = None,
) -> Measurement:
    """Closed loop: `concurrency` threads, each with its own keep-alive connection, send the
    next request as soon as the previous answer is read, until the time or count is up.

    With `rate` (requests/s) the n-th request is not sent before start + n/rate: a fixed
    offered load, as long as `concurrency` connections suffice to keep up with it. Requests
    are built (body, signature) before the clock starts for each of them."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    accepted: list[list[str]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    error_samples: list[str] = []
    issued = 0
    issued_lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)
    began = deadline = 0.0

    def take_ticket() -> int | None:
        nonlocal issued
        with issued_lock:
            if issued >= max_requests:
                return None
            issued += 1
            return issued - 1

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        own, own_ids = latencies[index], accepted[index]
        start.wait()
        try:
            while time.perf_counter() < deadline and (ticket := take_ticket()) is not None:
                if rate is not None:
                    due = began + ticket / rate
                    if due >= deadline:
                        break
                    if (wait := due - time.perf_counter()) > 0:
                        time.sleep(wait)
                request = requests()
                sent = time.perf_counter()
                try:
                    conn.request(
                        request.method, request.path, body=request.body, headers=request.headers
                    )
                    response = conn.getresponse()
                    body = response.read()
                    status = response.status
                    problem = None if 200 <= status < 300 else f"HTTP {status}: {body[:200]!r}"
                except (OSError, http.client.HTTPException) as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                    conn.close()  # the next request reconnects
                own.append(time.perf_counter() - sent)
                if problem is None:
                    own_ids.extend(request.ids)
                else:
                    errors[index] += 1
                    if len(error_samples) < 5:
                        error_samples.append(problem)
        finally:
            conn.close()

    threads = [
        threading.Thread(target=worker, args=(i,), name=f"bench-{i}", daemon=True)
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline = began + duration
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began

    merged = sorted(value for own in latencies for value in own)
    count = len(merged)
    ok = count - sum(errors)
    return Measurement(
        path=label,
        requests=count,
        errors=sum(errors),
        seconds=round(elapsed, 3),
        rps=round(count / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=round(percentile(merged, 0.50) * 1000, 3),
        p99_ms=round(percentile(merged, 0.99) * 1000, 3),
        p95_ms=round(percentile(merged, 0.95) * 1000, 3),
        mean_ms=round(sum(merged) / count * 1000, 3) if count else float("nan"),
        max_ms=round(merged[-1] * 1000, 3) if count else float("nan"),
        accepted=ok,
        accepted_rps=round(ok / elapsed, 1) if elapsed > 0 else 0.0,
        error_samples=error_samples,
        accepted_ids=[i for own in accepted for i in own],
    )


# --- Report -------------------------------------------------------------------------------


def ratios(baseline: Measurement, target: Measurement) -> dict[str, float | None]:
    return {
        "rps": round(target.rps / baseline.rps, 3) if baseline.rps else None,
        "p50": round(target.p50_ms / baseline.p50_ms, 3) if baseline.p50_ms else None,
    }


def _goal_cell(goal: dict[str, Any] | None) -> str:
    if not goal:
        return ""
    return {True: "met", False: "NOT met", None: "n/a"}[goal["met"]]


def print_table(results: list[dict[str, Any]]) -> None:
    headers = ["scenario", "target", "req/s", "p50 ms", "p99 ms", "errors", "ratio", "goal"]
    rows: list[list[str]] = []
    for result in results:
        if "import" in result:
            rows += csv_import.table_rows(result)
            continue
        if "scoring" in result:
            rows += scoring.table_rows(result)
            continue
        if "segments" in result:
            rows += segments.table_rows(result)
            continue
        if "messaging" in result:
            rows += messaging.table_rows(result)
            continue
        if "queue" in result:
            rows += queue.table_rows(result)
            continue
        if "analytics" in result:
            rows += analytics.table_rows(result)
            continue
        target = result["target"]
        lines: list[tuple[str, dict[str, Any], str, str]] = []
        if "baseline" in result:
            lines.append(("baseline", result["baseline"], "", ""))
            ratio = result["ratio"]
            ratio_text = f"{ratio['rps']:.2f}x req/s, {ratio['p50']:.2f}x p50"
        else:
            ratio_text = f"{result['lag']['offered_events_per_s']:g} events/s offered"
        lines.append(("target", target, ratio_text, _goal_cell(result.get("goal"))))
        for n, (label, m, ratio_cell, goal_cell) in enumerate(lines):
            rows.append(
                [
                    result["scenario"] if n == 0 else "",
                    f"{m['path']}" + (" (baseline)" if label == "baseline" else ""),
                    f"{m['rps']:.1f}",
                    f"{m['p50_ms']:.2f}",
                    f"{m['p99_ms']:.2f}",
                    str(m["errors"]),
                    ratio_cell,
                    goal_cell,
                ]
            )
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    numeric = {2, 3, 4, 5}

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ).rstrip()

    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    print(
        "ratio = target req/s ÷ baseline req/s (1.00 is the floor's speed), p50 target ÷ baseline"
    )


def print_details(results: list[dict[str, Any]]) -> None:
    """Goals, integrity counts and lag: what the table has no room for."""
    for result in results:
        if "import" in result:
            csv_import.print_details(result)
            continue
        if "scoring" in result:
            scoring.print_details(result)
            continue
        if "segments" in result:
            segments.print_details(result)
            continue
        if "messaging" in result:
            messaging.print_details(result)
            continue
        if "queue" in result:
            queue.print_details(result)
            continue
        if "analytics" in result:
            analytics.print_details(result)
            continue
        goal, integrity, lag = result.get("goal"), result.get("integrity"), result.get("lag")
        if not (goal or integrity or lag):
            continue
        print(f"\n{result['scenario']}:")
        if integrity:
            print(
                f"  stored: {integrity['accepted']:,} messages in requests answered 200 "
                f"({integrity['requests']:,} requests x {integrity['messages_per_request']}), "
                f"{integrity['stored']:,} raw rows; lost {integrity['lost']}, "
                f"doubled {integrity['doubled']}"
                + (
                    f", {integrity['unacknowledged']} stored without a 2xx"
                    if integrity["unacknowledged"]
                    else ""
                )
            )
        if lag:
            _print_lag(lag)
        if goal and "accepted_rps_ratio" in goal:
            print(
                f"  goal {goal['goal']}: {_goal_cell(goal)} "
                f"(accepted {goal['accepted_rps_ratio']:.2f}x baseline, p99 {goal['p99_ms']:.1f} ms)"
            )
        elif goal:
            print(f"  goal {goal['goal']}: {_goal_cell(goal)} ({goal['detail']})")


def _seconds(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2f} s"


def _print_lag(lag: dict[str, Any]) -> None:
    print(
        f"  load: {lag['offered_events_per_s']:g} events/s offered for {lag['duration_s']:g} s, "
        f"{lag['sent_events_per_s']:.1f} events/s accepted "
        f"({lag['messages_accepted']:,} messages)"
    )
    if lag["sent_events_per_s"] < 0.95 * lag["offered_events_per_s"]:
        print(
            "  note: the offered rate was not reached: the ingest endpoint answered too slowly "
            "while the worker ran (see its p50/p99 above)"
        )
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(lag["statuses"].items())) or "none"
    print(
        f"  processed: {lag['events']:,} events from {lag['messages_accepted']:,} messages; "
        f"lost {lag['lost']}, doubled {lag['events_doubled']}; deliveries: {statuses}"
    )
    drained = (
        f"drained {_seconds(lag['drain_s'])} after the load stopped"
        if lag["drained"]
        else f"NOT drained within {lag['timeout_s']:g} s"
    )
    print(
        f"  backlog when the load stopped: {lag['backlog_at_end']:,} pending, {drained}; "
        f"worker kept up: {'yes' if lag['kept_up'] else 'NO'}"
    )
    print(
        f"  lag raw row -> event row: p50 {_seconds(lag['p50_s'])}, "
        f"p95 {_seconds(lag['p95_s'])}, p99 {_seconds(lag['p99_s'])}, "
        f"max {_seconds(lag['max_s'])}"
    )
    if lag.get("stage_changes"):
        print(
            f"  lag raw row -> MQL/SQL stage recorded ({lag['stage_changes']:,} qualifications): "
            f"p50 {_seconds(lag['stage_p50_s'])}, p95 {_seconds(lag['stage_p95_s'])} "
            f"(issue #5 goal: p95 <= {LAG_GOAL_P95:g} s at {LAG_GOAL_RATE:,} events/s)"
        )
    rate = lag["processing_events_per_s"]
    print(
        "  worker throughput (events ÷ first raw row to last event row): "
        + (f"{rate:.1f} events/s" if rate else "-")
    )


def machine_info() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --- CLI ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure each scenario against its baseline on a local gunicorn.",
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="cap on requests per measurement"
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="run only matching scenarios (shell-style pattern; repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--json-out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    # Sizes of the generated shop. Scenarios that need data read them; "healthz" does not.
    parser.add_argument(
        "--contacts",
        type=int,
        default=None,
        help=f"contacts of the generated shop (default 2,000) and rows of the csv-import file "
        f"(default {csv_import.DEFAULT_ROWS:,})",
    )
    parser.add_argument("--orders", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument(
        "--reuse-data",
        action="store_true",
        help="read scenarios: keep the shop an earlier run generated when it has this "
        "--contacts / --events size, instead of generating it again",
    )
    parser.add_argument(
        "--lag-rate",
        type=float,
        default=200.0,
        help="events/s the ingest-lag phase offers (in batches of "
        f"{ingest.MESSAGES_PER_BATCH}); the issue's goal is stated at {LAG_GOAL_RATE:,}",
    )
    parser.add_argument(
        "--lag-concurrency",
        type=int,
        default=32,
        help="client threads of the paced ingest-lag load (enough that slow answers do not "
        "lower the offered rate)",
    )
    parser.add_argument(
        "--lag-timeout",
        type=float,
        default=120.0,
        help="seconds ingest-lag waits for the worker to process the backlog",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="database to benchmark against (env BENCH_DATABASE_URL); created if missing",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="Redis to benchmark against (env BENCH_REDIS_URL)",
    )
    csv_import.add_arguments(parser)
    messaging.add_arguments(parser)
    queue.add_arguments(parser)
    analytics.add_arguments(parser)
    args = parser.parse_args(argv)
    args.import_rows = args.contacts or csv_import.DEFAULT_ROWS
    args.contacts = args.contacts or 2_000
    if args.duration <= 0 or args.concurrency < 1 or args.max_requests < 1 or args.warmup < 0:
        parser.error("--duration, --concurrency and --max-requests must be positive")
    if args.lag_rate <= 0 or args.lag_timeout <= 0 or args.lag_concurrency < 1:
        parser.error("--lag-rate, --lag-concurrency and --lag-timeout must be positive")
    if args.queue_reps < 1 or args.queue_lag_rate <= 0:
        parser.error("--queue-reps and --queue-lag-rate must be positive")
    return args


def select_scenarios(patterns: list[str] | None) -> list[Scenario]:
    if not patterns:
        return list(SCENARIOS)
    chosen = [s for s in SCENARIOS if any(fnmatch.fnmatchcase(s.name, p) for p in patterns)]
    if not chosen:
        names = ", ".join(s.name for s in SCENARIOS)
        raise BenchError(f"no scenario matches {' '.join(patterns)} (known: {names})")
    return chosen


def run_compare(
    scenario: Scenario, args: argparse.Namespace, port: int, sources: ingest.Sources | None
) -> tuple[dict[str, Any], list[str]]:
    """Baseline then target, each warmed up first. Returns the result and what failed."""
    problems: list[str] = []

    def target(phase: str) -> RequestFactory:
        if scenario.target is None:
            return get_requests(scenario.path)
        return scenario.target(
            sources, f"{sources.run_id if sources else ''}-{scenario.name}-{phase}-"
        )

    def bare(phase: str) -> RequestFactory:
        return get_requests(scenario.baseline_path)

    roles: dict[str, tuple[Callable[[str], RequestFactory], str]] = {
        "baseline": (bare, scenario.baseline_path),
        "target": (target, scenario.label()),
    }
    for requests, label in roles.values():
        status, body, error = send(port, requests("check")())
        if status is None or not 200 <= status < 300:
            detail = error or f"HTTP {status}: {body[:500].decode(errors='replace')}"
            raise BenchError(f"{scenario.name}: {label} does not answer 2xx: {detail}")

    measured: dict[str, Measurement] = {}
    for role, (requests, label) in roles.items():
        if args.warmup:
            warmup = drive(
                port,
                requests("w"),
                label=label,
                duration=args.warmup,
                concurrency=args.concurrency,
                max_requests=args.max_requests,
            )
            if warmup.errors:
                problems.append(f"{scenario.name} {label}: {warmup.errors} warm-up errors")
        measured[role] = drive(
            port,
            requests("m"),
            label=label,
            duration=args.duration,
            concurrency=args.concurrency,
            max_requests=args.max_requests,
        )
        for sample in measured[role].error_samples:
            print(f"{scenario.name} {label}: {sample}", file=sys.stderr)
        if measured[role].errors:
            problems.append(f"{scenario.name} {label}: {measured[role].errors} errors")

    baseline, tgt = measured["baseline"], measured["target"]
    result: dict[str, Any] = {
        "scenario": scenario.name,
        "description": scenario.description,
        "baseline": baseline.report(),
        "target": tgt.report(),
        "ratio": ratios(baseline, tgt),
    }
    if scenario.ingest and sources is not None:
        prefix = f"{sources.run_id}-{scenario.name}-m-"
        counts = ingest.delivery_integrity(args.database_url, prefix, tgt.accepted_ids)
        per_request = len(tgt.accepted_ids) // tgt.accepted if tgt.accepted else 0
        result["integrity"] = {
            "requests": tgt.accepted,
            "messages_per_request": per_request,
            **counts,
        }
        if counts["lost"] or counts["doubled"]:
            problems.append(f"{scenario.name}: lost {counts['lost']}, doubled {counts['doubled']}")
    if scenario.goal is not None:
        result["goal"] = scenario.goal.assess(baseline, tgt)
    return result, problems


def wait_for(
    condition: Callable[[], bool], *, timeout: float, worker: Worker, doing: str
) -> float | None:
    """Poll until `condition()` holds: seconds it took, or None after `timeout`."""
    began = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - began
        worker.ensure_running(doing)
        if time.monotonic() - began >= timeout:
            return None
        time.sleep(POLL_INTERVAL)


def run_lag(
    scenario: Scenario,
    args: argparse.Namespace,
    env: dict[str, str],
    port: int,
    sources: ingest.Sources,
    log_path: Path,
) -> tuple[dict[str, Any], list[str], str]:
    """Fixed-rate Segment load with a Celery worker processing; then the lag per event.

    Returns the result, what failed, and the worker's log tail."""
    assert scenario.target is not None
    database, source_id = args.database_url, sources.tracking_id
    problems: list[str] = []

    def none_pending() -> bool:
        return ingest.pending_count(database, source_id) == 0

    worker = Worker(env, log_path)
    try:
        worker.start()
        # Ready means "processes a message end to end". The worker purges the queue as it
        # starts, so a probe's task may be dropped: send a fresh probe batch every second
        # until one is processed (its task then drains every pending probe).
        probes = scenario.target(sources, f"{sources.run_id}-{scenario.name}-probe-")
        began = time.monotonic()
        while True:
            status, body, error = send(port, probes())
            if status is None or not 200 <= status < 300:
                detail = error or f"HTTP {status}: {body[:500].decode(errors='replace')}"
                raise BenchError(f"{scenario.name}: the probe batch was not accepted: {detail}")
            if wait_for(none_pending, timeout=1.0, worker=worker, doing="starting") is not None:
                break
            if time.monotonic() - began > STARTUP_TIMEOUT:
                raise BenchError(
                    f"the Celery worker processed no probe batch within {STARTUP_TIMEOUT:.0f}s:\n"
                    + worker.log_tail()
                )

        prefix = f"{sources.run_id}-{scenario.name}-m-"
        measured = drive(
            port,
            scenario.target(sources, prefix),
            label=f"{scenario.label()} @ {args.lag_rate:g} ev/s",
            duration=args.duration,
            concurrency=args.lag_concurrency,
            max_requests=args.max_requests,
            rate=args.lag_rate / ingest.MESSAGES_PER_BATCH,
        )
        backlog = ingest.pending_count(database, source_id)
        drain = wait_for(
            none_pending, timeout=args.lag_timeout, worker=worker, doing="during the lag phase"
        )
    finally:
        worker.stop(timeout=15.0)
        worker_log = worker.log_tail(100)

    for sample in measured.error_samples:
        print(f"{scenario.name} {measured.path}: {sample}", file=sys.stderr)
    if measured.errors:
        problems.append(f"{scenario.name}: {measured.errors} errors")

    accepted = measured.accepted_ids
    integrity = ingest.delivery_integrity(database, prefix, accepted)
    lags, statuses, counts = ingest.lag_rows(database, source_id, prefix)
    values = sorted(lags.values())
    stage_lags = ingest.stage_lag_rows(database, source_id, prefix)
    lost = len(set(accepted) - lags.keys())
    unprocessed = statuses.get("pending", 0)
    first_received, last_event = counts["first_received"], counts["last_event"]
    span = last_event - first_received if first_received and last_event else 0.0
    offered = args.lag_rate
    p95 = percentile(values, 0.95)
    sent_rate = len(accepted) / measured.seconds if measured.seconds else 0.0
    # Kept up: the offered rate was accepted (within 5 %), at most one second of it was
    # still waiting when the load stopped, and the rest was processed within --lag-timeout.
    kept_up = drain is not None and backlog <= offered and sent_rate >= 0.95 * offered
    lag = {
        "offered_events_per_s": offered,
        "duration_s": args.duration,
        "sent_events_per_s": round(sent_rate, 1),
        "messages_accepted": len(accepted),
        "events": counts["events"],
        "events_doubled": counts["events_doubled"],
        "lost": lost,
        "statuses": statuses,
        "backlog_at_end": backlog,
        "drained": drain is not None,
        "drain_s": round(drain, 3) if drain is not None else None,
        "timeout_s": args.lag_timeout,
        "kept_up": kept_up,
        "p50_s": round(percentile(values, 0.50), 3),
        "p95_s": round(p95, 3),
        "p99_s": round(percentile(values, 0.99), 3),
        "max_s": round(values[-1], 3) if values else None,
        "processing_events_per_s": round(counts["events"] / span, 1) if span > 0 else None,
        "stage_changes": len(stage_lags),
        "stage_p50_s": round(percentile(stage_lags, 0.50), 3) if stage_lags else None,
        "stage_p95_s": round(percentile(stage_lags, 0.95), 3) if stage_lags else None,
        "worker_concurrency": CELERY_CONCURRENCY,
    }
    within = bool(values) and p95 <= LAG_GOAL_P95 and lost == 0
    sustained = f"{sent_rate:.0f} of {offered:g} events/s accepted, p95 {p95:.2f} s"
    if offered >= LAG_GOAL_RATE:
        met: bool | None = within and kept_up
        detail = sustained
    elif not (within and kept_up):
        # Not even the lower rate is sustained: the goal's rate cannot be either.
        met = False
        detail = f"not sustained at {offered:g} events/s already: {sustained}"
    else:
        met = None
        detail = f"{sustained}; run --lag-rate {LAG_GOAL_RATE} to assess"
    goal = {
        "goal": f"p95 lag <= {LAG_GOAL_P95:g} s at {LAG_GOAL_RATE:,} events/s",
        "met": met,
        "detail": detail,
    }
    if integrity["lost"] or integrity["doubled"]:
        problems.append(
            f"{scenario.name}: raw rows lost {integrity['lost']}, doubled {integrity['doubled']}"
        )
    if counts["events_doubled"] or statuses.get("failed", 0):
        problems.append(
            f"{scenario.name}: events doubled {counts['events_doubled']}, "
            f"deliveries failed {statuses.get('failed', 0)}"
        )
    if lost > unprocessed + statuses.get("failed", 0):
        problems.append(f"{scenario.name}: {lost} accepted messages processed without an event")
    result = {
        "scenario": scenario.name,
        "description": scenario.description,
        "target": measured.report(),
        "integrity": {
            "requests": measured.accepted,
            "messages_per_request": ingest.MESSAGES_PER_BATCH,
            **integrity,
        },
        "lag": lag,
        "goal": goal,
    }
    return result, problems, worker_log


def run(args: argparse.Namespace) -> int:
    scenarios = select_scenarios(args.scenario)
    env = bench_env(args.database_url, args.redis_url)
    global _read_data
    needs_ingest = any(s.ingest for s in scenarios)
    if needs_ingest or any(
        s.reads or s.mode in ("import", "scoring", "segments", "messaging", "queue", "analytics")
        for s in scenarios
    ):
        ingest.guard_database(args.database_url)

    ensure_database(args.database_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    record_worker_heartbeat(env)
    sources = None
    if needs_ingest:
        run_id = uuid.uuid4().hex[:8]
        ingest.truncate_leads(args.database_url, drop_stale_sources=True)
        sources = ingest.create_sources(env, run_id)

    results: list[dict[str, Any]] = []
    problems: list[str] = []
    logs: list[str] = []
    with tempfile.TemporaryDirectory(prefix="growth-bench-") as tmp:
        server = Server(env, Path(tmp) / "gunicorn.log")
        try:
            server.start()
            server.wait_until_up("/bench/bare")
            print(
                f"gunicorn on {HOST}:{server.port}: {GUNICORN_WORKERS} workers x "
                f"{GUNICORN_THREADS} threads; {args.concurrency} client threads, "
                f"{args.duration:g}s per measurement"
            )
            for scenario in scenarios:
                if scenario.ingest:
                    # Each scenario starts from empty leads tables (the sources stay).
                    ingest.truncate_leads(args.database_url)
                    _read_data = None
                if scenario.reads and _read_data is None:
                    _read_data = reads.prepare(
                        args.database_url,
                        env,
                        contacts=args.contacts,
                        events=args.events,
                        reuse=args.reuse_data,
                    )
                print(f"{scenario.name} ...", flush=True)
                if scenario.mode == "import":
                    _read_data = None  # it empties the leads tables
                    result, failed_here = csv_import.run(args, env, Path(tmp))
                elif scenario.mode == "scoring":
                    _read_data = None  # it may generate the shop anew
                    result, failed_here = scoring.run(args, env)
                elif scenario.mode == "segments":
                    _read_data = None  # it may generate the shop anew
                    result, failed_here = segments.run(args, env)
                elif scenario.mode == "messaging":
                    _read_data = None  # it empties the leads tables
                    result, failed_here = messaging.run(
                        scenario.name, args, env, Path(tmp), drive=drive, server_class=Server
                    )
                elif scenario.mode == "queue":
                    _read_data = None  # it empties the leads tables
                    result, failed_here = queue.run(
                        scenario.name, args, env, Path(tmp), server=server, drive=drive
                    )
                elif scenario.mode == "analytics":
                    result, failed_here = analytics.run(
                        scenario.name, args, env, Path(tmp), drive=drive, server_class=Server
                    )
                elif scenario.mode == "lag":
                    assert sources is not None
                    result, failed_here, worker_log = run_lag(
                        scenario, args, env, server.port, sources, Path(tmp) / "celery.log"
                    )
                    if failed_here:
                        logs.append("celery worker log tail:\n" + worker_log)
                else:
                    result, failed_here = run_compare(scenario, args, server.port, sources)
                results.append(result)
                problems += failed_here
        finally:
            server.stop()
            gunicorn_log = server.log_tail(200)
            if sources is not None:
                purge_tasks(env)

    print()
    print_table(results)
    print_details(results)
    report = {
        "machine": machine_info(),
        "parameters": {
            "duration": args.duration,
            "concurrency": args.concurrency,
            "max_requests": args.max_requests,
            "warmup": args.warmup,
            "scenarios": [s.name for s in scenarios],
            "contacts": args.contacts,
            "import_rows": args.import_rows,
            "orders": args.orders,
            "events": args.events,
            "lag_rate": args.lag_rate,
            "lag_concurrency": args.lag_concurrency,
            "lag_timeout": args.lag_timeout,
            "queue_reps": args.queue_reps,
            "queue_lag_rate": args.queue_lag_rate,
            "messages_per_batch": ingest.MESSAGES_PER_BATCH,
            "server": {
                "command": "gunicorn growth.wsgi:application",
                "workers": GUNICORN_WORKERS,
                "worker_class": "gthread",
                "threads": GUNICORN_THREADS,
            },
            "celery_worker": {"queues": ["default"], "concurrency": CELERY_CONCURRENCY},
            "database": urlsplit(args.database_url).path.lstrip("/"),
        },
        "results": results,
        "problems": problems,
        "ok": not problems,
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.json_out}")
    if problems:
        print("\nfailed:\n  " + "\n  ".join(problems), file=sys.stderr)
        print("gunicorn log tail:\n" + gunicorn_log, file=sys.stderr)
        for log in logs:
            print(log, file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for scenario in SCENARIOS:
            versus = f" vs {scenario.baseline_path}" if scenario.baseline_path else ""
            print(f"{scenario.name}: {scenario.label()}{versus}")
            print(f"    {scenario.description}")
        return 0

    # SIGTERM (CI cancelling the job) unwinds like Ctrl-C, so gunicorn and the Celery
    # worker are always stopped.
    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return run(args)
    except (BenchError, ingest.SetupError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
