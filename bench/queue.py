"""The rep queue scenarios of issue #7: `queue-claims` and `queue-lag`.

`queue-claims`: `--contacts` active enrollments (the issue's size is 100,000) spread over
`--queue-reps` reps (50), every one with a manual "call" step due, generated in SQL. Each rep
is a client thread with its own signed-in session (made server-side with Django's session
store, like the read scenarios' admin) and its own keep-alive connection, working the queue
closed-loop through the real app under the harness's gunicorn: `GET /queue/` once, then
`POST /queue/touch` (htmx) with the enrollment and the submit key of the card it was shown
and the disposition "no_answer". The answer is the next lead's card: each answer records a
touch and claims a lead. Baseline: `GET /bench/bare` from as many threads, in the same run.

Counted over the whole run (warm-up included): every lead an answer showed, per rep. An
enrollment shown to two different reps as their current lead is a double assignment (every
enrollment belongs to one rep here, so no other rep may ever be shown it). Afterwards the
database is checked too: no enrollment step touched by two reps or twice, one touch per
request answered 2xx, at most one live lease per rep.

`queue-lag`: the same population, a tracking source and real Celery workers as `make run`
starts them (one worker on every queue, 2 processes; `--queue-lag-workers split` for one
process on the inbound queue and one on the others): inbound processing, qualification, and
the cadences receiver's `cadences.enroll_mql` on the messaging queue. Segment
`Newsletter Subscribed` track calls, each from a new visitor (the shipped MQL definition
qualifies on that event at once), are posted through `POST /ingest/v1/batch` at
`--queue-lag-rate` MQLs/s for `--queue-lag-duration` seconds. Per contact: raw row stored
(`InboundDelivery.received_at`) -> enrollment started (`Enrollment.started_at`: the lead is
then due, never touched and just qualified, which the queue puts first), and every new MQL
must get exactly one enrollment.

Goals (issue #7, section Benchmarks): >= 500 claims/s, p99 <= 50 ms and 0 double
assignments at 100,000 enrollments with 50 reps; a new MQL at the front of a rep's queue
p95 <= 5 s after the qualifying event is accepted. Reported as met or not, never asserted;
the exit status is non-zero on a double assignment, a failed request or an integrity count.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import ingest, messaging

REPO = ingest.REPO
HOST = "127.0.0.1"
NAMES = ("queue-claims", "queue-lag")

GOAL_CLAIMS_PER_S = 500.0
GOAL_P99_MS = 50.0
GOAL_ENROLLMENTS = 100_000
GOAL_REPS = 50
GOAL_LAG_P95_S = 5.0

MQL_EVENT = "Newsletter Subscribed"  # the shipped MQL definition: qualifies at once
GENERATED_TOUCH = "bench-gen-"  # keys of the touches generated with the population
WORKER_CONCURRENCY = 2
POLL = 0.2

ENROLLMENT_RE = re.compile(rb'data-enrollment="(\d+)"')
KEY_RE = re.compile(rb'name="key" value="([0-9a-f]+)"')
CSRF_HEADER_RE = re.compile(rb'"X-CSRFToken": "([^"]+)"')
CSRF_FIELD_RE = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


class ScenarioError(Exception):
    """The setup or a process failed: the scenario stops with this message."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--queue-reps",
        type=int,
        default=GOAL_REPS,
        help="queue scenarios: reps (users with the rep role and a Rep row), and client "
        f"threads of queue-claims (the issue's goal is stated for {GOAL_REPS})",
    )
    parser.add_argument(
        "--queue-lag-rate",
        type=float,
        default=20.0,
        help="queue-lag: qualifying Segment events (new MQLs) per second",
    )
    parser.add_argument(
        "--queue-lag-duration",
        type=float,
        default=30.0,
        help="queue-lag: seconds of load (a few seconds fit in the queues however slow the "
        "workers are)",
    )
    parser.add_argument(
        "--queue-lag-workers",
        choices=sorted(LAYOUTS),
        default="shipped",
        help="queue-lag: 'shipped' = one Celery worker on every queue with 2 processes, as "
        "`make run` starts it; 'split' = one process on the inbound queue, one on the others",
    )


# --- Population ---------------------------------------------------------------------------

# Runs inside `manage.py shell` with the server's environment; prints one RESULT line.
SETUP_SCRIPT = r"""
import json
from datetime import time
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group
from cadences.services.cadences import cadence_publish, cadence_save
from cadences.services.setup import rep_save, team_save
from growth.models import User
from growth.services import roles_sync

from leads.services.lifecycle import lifecycle_settings_get
from leads.services.scoring import scoring_defaults_ensure

CONFIG = json.loads(%(config)r)
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
# The emptied leads tables: the shipped MQL/SQL definitions and score model come back as on
# first use (no events yet, so no recompute is queued).
lifecycle_settings_get()
scoring_defaults_ensure()
roles_sync()
group = Group.objects.get(name="rep")
every_day = list(range(7))
team = team_save(team=None, name="Bench queue", time_zone="UTC", opens=time(0),
                 closes=time(23, 59), days=every_day)
reps = []
for n in range(CONFIG["reps"]):
    user, _ = User.objects.get_or_create(
        username=f"bench-rep-{n:03d}", defaults={"first_name": "Rep", "last_name": f"{n:03d}"})
    user.is_active = True
    user.save(update_fields=["is_active"])
    user.groups.set([group])
    rep = rep_save(rep=None, user=user, team=team, works_from=time(0), works_until=time(23, 59),
                   work_days=every_day, capacity=CONFIG["capacity"])
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    reps.append({"rep": rep.pk, "user": user.pk, "session": session.session_key})
steps = [
    {"day": day, "kind": "call", "from": "00:00", "until": "23:59", "template": None,
     "script": "Hi {first name}, this is {rep} from the Bench shop: you signed up for our "
               "newsletter, can I help you find the right size?",
     "instructions": "Call; leave a voicemail when nobody answers."}
    for day in (0, 1, 2)
]
cadence = cadence_save(cadence=None, name="Bench queue: three calls", steps=steps)
version = cadence_publish(cadence=cadence)
print("RESULT " + json.dumps({"reps": reps, "cadence": cadence.pk, "version": version.pk}))
"""

CADENCES_TABLES = [
    "cadences_touch",
    "cadences_skip",
    "cadences_enrollment",
    "cadences_step",
    "cadences_cadenceversion",
    "cadences_cadence",
    "cadences_rep",
    "cadences_team",
]
COUNTRIES = ["US", "US", "GB", "DE", "FR", "CA", "AU", "NL", "ES", "IT"]
CHANNELS = ["direct", "google / organic", "google / cpc", "email", "facebook / paid", "referral"]


@dataclass(frozen=True)
class RepLogin:
    rep: int
    user: int
    session: str


@dataclass(frozen=True)
class Population:
    enrollments: int
    reps: list[RepLogin]
    cadence: int
    version: int
    first_contact: int
    last_contact: int
    setup_s: float


def manage_script(env: dict[str, str], script: str, timeout: float = 600) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "shell", "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode != 0 or not lines:
        raise ScenarioError(f"setup script failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return dict(json.loads(lines[-1][len("RESULT ") :]))


def populate(database_url: str, env: dict[str, str], *, enrollments: int, reps: int) -> Population:
    """Empty the leads and cadences tables, then: `reps` rep users (rep role, a Rep working
    all day every day, a session each), one published cadence of three calls, and
    `enrollments` MQL contacts each on it with a call due now or overdue, spread over the
    reps. Half never touched (step 1), half touched once (step 2, its touch recorded). Every
    contact has three events and the stage change that made it an MQL, days ago: none of
    them counts as "just qualified", so a new MQL goes in front of all of them."""
    from psycopg import sql

    began = time.monotonic()
    ingest.truncate_leads(database_url)  # cascades to enrollments and touches
    with ingest._connect(database_url) as conn:
        conn.execute(
            sql.SQL("TRUNCATE {} CASCADE").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in CADENCES_TABLES)
            )
        )
    # Room for every generated lead and the new MQLs of queue-lag: no rep is full.
    capacity = min(10_000, max(200, 2 * enrollments // max(1, reps) + 1_000))
    made = manage_script(
        env, SETUP_SCRIPT % {"config": json.dumps({"reps": reps, "capacity": capacity})}
    )
    logins = [RepLogin(**r) for r in made["reps"]]
    with ingest._connect(database_url) as conn, conn.transaction():
        conn.execute(
            """
            INSERT INTO leads_contact (first_name, last_name, email, phone, country, time_zone,
                locale, company, properties, lifecycle_stage, score, first_touch, last_touch,
                source_channel, created_at, updated_at, last_seen_at)
            SELECT 'Lead' || g, 'Queue' || (g %% 5000), 'lead' || g || '@example.com',
                '+1555' || lpad(g::text, 7, '0'), (%(countries)s::text[])[1 + g %% 10], 'UTC',
                'en-US', CASE WHEN g %% 3 = 0 THEN 'Company ' || (g %% 997) ELSE '' END, '{}',
                'mql', 30 + g %% 70, '{}', '{}', (%(channels)s::text[])[1 + g / 7 %% 6],
                now() - interval '40 days', now(), now() - (g %% 5000) * interval '1 minute'
            FROM generate_series(1, %(n)s) AS g
            """,
            {"n": enrollments, "countries": COUNTRIES, "channels": CHANNELS},
        )
        first, last = conn.execute("SELECT min(id), max(id) FROM leads_contact").fetchone()
        conn.execute(
            """
            INSERT INTO leads_event (contact_id, source_id, session_id, name, properties,
                occurred_at, received_at, message_id)
            SELECT c.id, NULL, NULL, k.name, k.properties::jsonb,
                now() - interval '3 days' - (c.id % 5000) * interval '1 minute'
                    - k.n * interval '1 hour', now(), ''
            FROM leads_contact c CROSS JOIN (VALUES
                (3, 'Product Viewed', '{"product_id": "p-1001", "name": "Organic tee"}'),
                (2, 'Product Viewed', '{"product_id": "p-1003", "name": "Heavy hoodie"}'),
                (1, 'Newsletter Subscribed', '{"list": "weekly"}')) AS k(n, name, properties)
            """
        )
        conn.execute(
            """
            INSERT INTO leads_stagechange (from_stage, to_stage, at, cause_kind, cause_detail,
                criterion, event_id, order_id, reason, backward, actor_id, contact_id,
                definition_id)
            SELECT 'subscriber', 'mql', e.occurred_at, 'rule', 'Newsletter Subscribed', 'event',
                e.id, NULL, '', false, NULL, e.contact_id, NULL
            FROM leads_event e WHERE e.name = 'Newsletter Subscribed'
            """
        )
        conn.execute(
            """
            INSERT INTO cadences_enrollment (status, outcome, step, kind, due_at, score,
                qualified_at, first_touch_at, sla_due_at, attempts, skips, started_at,
                ended_note, key, cadence_id, contact_id, version_id, rep_id)
            SELECT 'active', '', s.step, 'call', now() - (g %% 7200) * interval '1 minute',
                c.score, q.at, CASE WHEN s.step = 2 THEN q.at + interval '20 minutes' END,
                q.at + interval '30 minutes', s.step - 1, 0, q.at, '',
                'bench-queue:' || c.id, %(cadence)s, c.id, %(version)s,
                (%(reps)s::bigint[])[1 + g %% %(nreps)s]
            FROM leads_contact c
            CROSS JOIN LATERAL (SELECT c.id - %(first)s AS g) AS n
            CROSS JOIN LATERAL (SELECT 1 + (n.g / %(nreps)s) %% 2 AS step) AS s
            JOIN leads_stagechange q ON q.contact_id = c.id
            """,
            {
                "cadence": made["cadence"],
                "version": made["version"],
                "reps": [r.rep for r in logins],
                "nreps": len(logins),
                "first": first,
            },
        )
        conn.execute(
            """
            INSERT INTO cadences_touch (step, kind, disposition, notes, at, key, contact_id,
                delivery_id, enrollment_id, rep_id)
            SELECT 1, 'call', 'no_answer', '', e.first_touch_at, %(prefix)s || e.id,
                e.contact_id, NULL, e.id, e.rep_id
            FROM cadences_enrollment e WHERE e.step = 2
            """,
            {"prefix": GENERATED_TOUCH},
        )
    with ingest._connect(database_url) as conn:
        conn.execute(
            "VACUUM (ANALYZE) leads_contact, leads_event, leads_stagechange, "
            "cadences_enrollment, cadences_touch, cadences_rep"
        )
    return Population(
        enrollments=enrollments,
        reps=logins,
        cadence=made["cadence"],
        version=made["version"],
        first_contact=int(first),
        last_contact=int(last),
        setup_s=round(time.monotonic() - began, 1),
    )


# --- queue-claims: the driver ---------------------------------------------------------------


@dataclass
class Answer:
    sent: float  # perf_counter when the request left
    seconds: float
    status: int | None  # None: connection error
    lead: int | None  # enrollment id of the card in the answer
    same: bool = False  # the lead it had just recorded, shown again


@dataclass
class RepRun:
    """What one rep's thread saw."""

    index: int
    answers: list[Answer] = field(default_factory=list)
    shown: list[int] = field(default_factory=list)  # every lead shown, GETs included
    gets: int = 0
    empty: int = 0  # answers without a lead (nothing due for this rep)
    errors: list[str] = field(default_factory=list)
    posts_ok: int = 0  # POSTs answered 2xx: one touch each


def _parse(body: bytes) -> tuple[int | None, str | None, str | None]:
    lead = ENROLLMENT_RE.search(body)
    key = KEY_RE.search(body)
    token = CSRF_FIELD_RE.search(body)
    return (
        int(lead.group(1)) if lead else None,
        key.group(1).decode() if key else None,
        token.group(1).decode() if token else None,
    )


def _csrf_cookie(response: http.client.HTTPResponse) -> str | None:
    for header in response.msg.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        if name.strip() == "csrftoken":
            return rest.split(";", 1)[0]
    return None


def work_queue(
    port: int, login: RepLogin, run: RepRun, start: threading.Barrier, clock: dict[str, float]
) -> None:
    """One rep: GET /queue/ (the page, a lease, the CSRF cookie), then POST /queue/touch
    with the shown lead's enrollment and key until the end; each answer is the next card."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    base = {"Host": "localhost", "User-Agent": f"growth-bench rep {run.index}"}
    cookie = f"sessionid={login.session}"
    lead: int | None = None
    key = field_token = header_token = None

    def load_page() -> None:
        nonlocal lead, key, field_token, header_token, cookie
        conn.request("GET", "/queue/", headers={**base, "Cookie": cookie})
        response = conn.getresponse()
        body = response.read()
        run.gets += 1
        if response.status != 200:
            raise ScenarioError(f"GET /queue/ as rep {run.index}: HTTP {response.status}")
        csrf = _csrf_cookie(response)
        if csrf:
            cookie = f"sessionid={login.session}; csrftoken={csrf}"
        header = CSRF_HEADER_RE.search(body)
        header_token = header.group(1).decode() if header else None
        lead, key, field_token = _parse(body)
        if lead is not None:
            run.shown.append(lead)

    try:
        load_page()
        if header_token is None or "csrftoken" not in cookie:
            raise ScenarioError(f"GET /queue/ as rep {run.index}: no CSRF token on the page")
    except (OSError, http.client.HTTPException, ScenarioError) as exc:
        run.errors.append(f"{type(exc).__name__}: {exc}")
        start.wait()
        return
    start.wait()
    end = clock["end"]
    try:
        while time.perf_counter() < end:
            if lead is None or key is None:
                run.empty += 1
                time.sleep(0.05)
                load_page()
                continue
            body = urlencode(
                {
                    "csrfmiddlewaretoken": field_token or header_token,
                    "enrollment": lead,
                    "key": key,
                    "disposition": "no_answer",
                    "bad_reason": "",
                    "notes": "",
                }
            ).encode()
            headers = {
                **base,
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
                "HX-Request": "true",
                "HX-Target": "queue-card",
                "HX-Current-URL": "http://localhost/queue/",
                "X-CSRFToken": header_token or "",
            }
            recorded = lead
            sent = time.perf_counter()
            try:
                conn.request("POST", "/queue/touch", body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                status: int | None = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                run.answers.append(Answer(sent, time.perf_counter() - sent, None, None))
                run.errors.append(f"{type(exc).__name__}: {exc}")
                load_page()
                continue
            seconds = time.perf_counter() - sent
            lead, key, token = _parse(answer)
            field_token = token or field_token
            run.answers.append(Answer(sent, seconds, status, lead, lead == recorded))
            if lead is not None:
                run.shown.append(lead)
            if status is not None and 200 <= status < 300:
                run.posts_ok += 1
            elif len(run.errors) < 5:
                run.errors.append(f"HTTP {status}: {answer[:300]!r}")
            else:
                run.errors.append(f"HTTP {status}")
    except (OSError, http.client.HTTPException, ScenarioError) as exc:
        run.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def drive_reps(
    port: int, logins: list[RepLogin], *, warmup: float, duration: float
) -> tuple[list[RepRun], float, float]:
    """Every rep in its own thread; returns the runs and the measured window (start, end)."""
    runs = [RepRun(i) for i in range(len(logins))]
    clock: dict[str, float] = {}
    start = threading.Barrier(len(logins) + 1)
    threads = [
        threading.Thread(
            target=work_queue,
            args=(port, login, run, start, clock),
            name=f"rep-{run.index}",
            daemon=True,
        )
        for login, run in zip(logins, runs, strict=True)
    ]
    for thread in threads:
        thread.start()
    # Set the clock before releasing the threads (they read clock["end"] after the barrier).
    began = time.perf_counter() + 0.05
    clock["end"] = began + warmup + duration
    start.wait()
    for thread in threads:
        thread.join()
    return runs, began + warmup, clock["end"]


def percentile(values: list[float], fraction: float) -> float | None:
    return messaging.pct(values, fraction)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def claims_integrity(database_url: str) -> dict[str, int]:
    """What the database says after the run (the generated touches left out)."""
    with ingest._connect(database_url) as conn:
        row = conn.execute(
            """
            SELECT
              (SELECT count(*) FROM cadences_touch WHERE NOT starts_with(key, %(gen)s)),
              (SELECT count(*) FROM (SELECT 1 FROM cadences_touch
                 GROUP BY enrollment_id, step HAVING count(DISTINCT rep_id) > 1) AS d),
              (SELECT count(*) FROM (SELECT 1 FROM cadences_touch
                 GROUP BY enrollment_id, step HAVING count(*) > 1) AS d),
              (SELECT count(*) FROM cadences_touch t JOIN cadences_enrollment e
                 ON e.id = t.enrollment_id WHERE t.rep_id IS DISTINCT FROM e.rep_id),
              (SELECT count(*) FROM (SELECT 1 FROM cadences_enrollment WHERE lease_until > now()
                 GROUP BY leased_to_id HAVING count(*) > 1) AS d),
              (SELECT count(*) FROM cadences_enrollment WHERE status = 'active'),
              (SELECT count(*) FROM cadences_enrollment WHERE status = 'ended')
            """,
            {"gen": GENERATED_TOUCH},
        ).fetchone()
    names = [
        "touches",
        "steps_touched_by_two_reps",
        "steps_touched_twice",
        "touches_by_another_rep",
        "reps_with_two_leases",
        "active_after",
        "finished_after",
    ]
    return dict(zip(names, (int(v) for v in row), strict=True))


# In-process profile after the load, on the same data, with the bench environment: the
# queries and CPU of POST /queue/touch through Django's test client (the full middleware
# stack, no HTTP server), the CPU of its parts called one by one, and EXPLAIN ANALYZE of the
# claim statement(s) as the service runs them (captured, then explained in a transaction
# rolled back: they update).
PROFILE_SCRIPT = r"""
import json, re, statistics, time, uuid
from django.db import connection, transaction
from django.template.loader import get_template
from django.test import Client
from django.test.utils import CaptureQueriesContext
from cadences.selectors_queue import queue_card
from cadences.services.queue import queue_claim_next, rep_of, touch_record
from growth.models import User
from leads.selectors import contact_timeline
CONFIG = json.loads(%(config)r)
user = User.objects.get(pk=CONFIG["user"])
rep = rep_of(user)
out = {"explain": [], "post": [], "parts": {}}
with transaction.atomic():
    with CaptureQueriesContext(connection) as claim:
        queue_claim_next(rep=rep)
    statements = [q["sql"] for q in claim.captured_queries if "SKIP LOCKED" in q["sql"]]
    with connection.cursor() as cursor:
        for sql in statements[:2]:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            out["explain"] += [row[0] for row in cursor.fetchall()]
    transaction.set_rollback(True)

sql_ms = []
def timing(execute, sql, params, many, context):
    began = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        sql_ms.append((time.perf_counter() - began) * 1000)

client = Client(HTTP_HOST="localhost")
client.force_login(user)
page = client.get("/queue/")
for n in range(CONFIG["rounds"]):
    html = page.content.decode()
    lead, key = re.search(r'data-enrollment="(\d+)"', html), re.search(r'name="key" value="([0-9a-f]+)"', html)
    if not lead:
        break
    sql_ms.clear()
    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(timing):
        began, cpu = time.perf_counter(), time.process_time()
        page = client.post("/queue/touch", {"enrollment": lead.group(1), "key": key.group(1),
                           "disposition": "no_answer", "notes": ""}, HTTP_HX_REQUEST="true")
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    out["post"].append({"status": page.status_code, "queries": len(queries),
        "wall_ms": wall * 1000, "python_cpu_ms": cpu * 1000, "sql_ms": sum(sql_ms)})

def timed(name, fn):
    began = time.process_time()
    value = fn()
    out["parts"].setdefault(name, []).append((time.process_time() - began) * 1000)
    return value

template = get_template("cadences/queue/_card.html")
lead = queue_claim_next(rep=rep)
for n in range(CONFIG["rounds"]):
    if lead is None:
        break
    timed("record", lambda: touch_record(rep=rep, enrollment_id=lead.pk, disposition="no_answer",
                                        key=uuid.uuid4().hex))
    lead = timed("claim", lambda: queue_claim_next(rep=rep))
    if lead is None:
        break
    card = timed("card", lambda: queue_card(enrollment=lead, rep=rep))
    timed("timeline", lambda: contact_timeline(contact=lead.contact, limit=8))
    timed("render", lambda: template.render({"card": card, "dispositions": [], "bad_reasons": [],
        "submit_key": "k", "notice": "", "errors": {}, "csrf_token": "t" * 64, "perms": {}}))
out["parts"] = {k: round(statistics.median(v[2:] or v), 2) for k, v in out["parts"].items()}
print("RESULT " + json.dumps(out))
"""


def profile_requests(env: dict[str, str], user: int, rounds: int = 20) -> dict[str, Any]:
    result = manage_script(
        env, PROFILE_SCRIPT % {"config": json.dumps({"user": user, "rounds": rounds})}
    )
    posts = result["post"][2:] or result["post"]  # the first rounds warm the caches

    def median(name: str) -> float:
        return round(statistics.median(p[name] for p in posts), 2) if posts else float("nan")

    return {
        "requests": len(posts),
        "queries": int(median("queries")) if posts else 0,
        "wall_ms": median("wall_ms"),
        "python_cpu_ms": median("python_cpu_ms"),
        "sql_ms": median("sql_ms"),
        "parts_cpu_ms": result["parts"],
        "explain": result["explain"],
    }


def _cpu_now(pgid: int | None, conn: Any) -> tuple[float, dict[int, float], float]:
    return (
        messaging.group_cpu(pgid) if pgid else 0.0,
        messaging.backends_cpu(conn),
        time.process_time(),
    )


def _cpu_spent(
    before: tuple[float, dict[int, float], float], after: tuple[float, dict[int, float], float]
) -> dict[str, float]:
    backends = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in after[1].items())
    return {
        "gunicorn": round(after[0] - before[0], 2),
        "postgres": round(backends, 2),
        "driver": round(after[2] - before[2], 2),
    }


def run_claims(
    args: argparse.Namespace, env: dict[str, str], server: Any, drive: Callable[..., Any]
) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    reps = args.queue_reps
    print(f"  generating {args.contacts:,} enrollments over {reps} reps ...", flush=True)
    population = populate(args.database_url, env, enrollments=args.contacts, reps=reps)
    print(f"  generated in {population.setup_s:g} s", flush=True)
    port = server.port
    pgid = server.process.pid if server.process is not None else None
    load_before = os.getloadavg()

    # Baseline: the bare view from as many threads as there are reps.
    if args.warmup:
        drive(
            port,
            lambda: _bare,
            label="/bench/bare",
            duration=args.warmup,
            concurrency=reps,
            max_requests=args.max_requests,
        )
    with ingest._connect(args.database_url) as meter:
        cpu_before = _cpu_now(pgid, meter)
        baseline = drive(
            port,
            lambda: _bare,
            label="/bench/bare",
            duration=args.duration,
            concurrency=reps,
            max_requests=args.max_requests,
        )
        cpu_base = _cpu_spent(cpu_before, _cpu_now(pgid, meter))
        if baseline.errors:
            problems.append(f"queue-claims: /bench/bare: {baseline.errors} errors")

        print(
            f"  {reps} reps working the queue for {args.warmup:g} + {args.duration:g} s ...",
            flush=True,
        )
        cpu_before = _cpu_now(pgid, meter)
        runs, measure_from, measure_to = drive_reps(
            port, population.reps, warmup=args.warmup, duration=args.duration
        )
        cpu_claims = _cpu_spent(cpu_before, _cpu_now(pgid, meter))
    load_after = os.getloadavg()

    # Every lead shown, per rep, over the whole run: shown to two reps = a double assignment.
    holders: dict[int, set[int]] = defaultdict(set)
    for run in runs:
        for lead in run.shown:
            holders[lead].add(run.index)
    doubles = {lead: sorted(who) for lead, who in holders.items() if len(who) > 1}

    measured = [a for run in runs for a in run.answers if measure_from <= a.sent < measure_to]
    all_answers = [a for run in runs for a in run.answers]
    elapsed = max((a.sent + a.seconds for a in measured), default=measure_to) - measure_from
    ok = [a for a in measured if a.status is not None and 200 <= a.status < 300]
    claims = [a for a in ok if a.lead is not None and not a.same]  # a new lead each
    latencies = sorted(a.seconds for a in measured)
    errors_total = sum(
        1 for a in all_answers if a.status is None or not 200 <= a.status < 300
    ) + sum(1 for run in runs if run.errors and not run.answers)
    posts_ok = sum(run.posts_ok for run in runs)
    claims_per_s = len(claims) / elapsed if elapsed > 0 else 0.0
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    target = {
        "path": "POST /queue/touch (htmx): touch + next lead",
        "requests": len(measured),
        "errors": sum(1 for a in measured if a.status is None or not 200 <= a.status < 300),
        "seconds": round(elapsed, 3),
        "rps": round(len(measured) / elapsed, 1) if elapsed > 0 else 0.0,
        "claims": len(claims),
        "claims_per_s": round(claims_per_s, 1),
        "p50_ms": _ms(p50),
        "p95_ms": _ms(percentile(latencies, 0.95)),
        "p99_ms": _ms(p99),
        "max_ms": _ms(latencies[-1] if latencies else None),
        "mean_ms": round(sum(latencies) / len(latencies) * 1000, 2) if latencies else None,
    }
    integrity = claims_integrity(args.database_url)
    counts = {
        "reps": reps,
        "page_loads": sum(run.gets for run in runs),
        "posts": len(all_answers),
        "posts_ok": posts_ok,
        "answers_with_lead": sum(1 for a in all_answers if a.lead is not None),
        "same_lead_again": sum(1 for a in all_answers if a.same),
        "answers_without_lead": sum(run.empty for run in runs),
        "leads_shown": sum(len(run.shown) for run in runs),
        "distinct_leads": len(holders),
        "double_assignments": len(doubles),
        "double_examples": dict(list(doubles.items())[:5]),
        "errors": errors_total,
    }
    for run in runs:
        for sample in run.errors[:3]:
            print(f"queue-claims rep {run.index}: {sample}", file=sys.stderr)
    if doubles:
        problems.append(
            f"queue-claims: {len(doubles)} leads shown to two reps, e.g. {counts['double_examples']}"
        )
    if errors_total:
        problems.append(f"queue-claims: {errors_total} requests failed (non-2xx or connection)")
    if integrity["touches"] != posts_ok:
        problems.append(
            f"queue-claims: {integrity['touches']} touches recorded for {posts_ok} POSTs "
            "answered 2xx"
        )
    for name in (
        "steps_touched_by_two_reps",
        "steps_touched_twice",
        "touches_by_another_rep",
        "reps_with_two_leases",
    ):
        if integrity[name]:
            problems.append(f"queue-claims: {name.replace('_', ' ')}: {integrity[name]}")

    try:
        profile = profile_requests(env, population.reps[-1].user)
    except ScenarioError as exc:
        profile = {"error": str(exc)[-500:]}
    explain = profile.pop("explain", [])

    within = (
        claims_per_s >= GOAL_CLAIMS_PER_S
        and p99 is not None
        and p99 * 1000 <= GOAL_P99_MS
        and not doubles
        and not errors_total
    )
    at_size = population.enrollments >= GOAL_ENROLLMENTS and reps >= GOAL_REPS
    met: bool | None = within if (at_size or not within) else None
    detail = (
        f"{claims_per_s:.0f} claims/s, p99 {target['p99_ms']} ms, {len(doubles)} double "
        f"assignments at {population.enrollments:,} enrollments / {reps} reps"
    )
    if met is None:
        detail += f"; run --contacts {GOAL_ENROLLMENTS} to assess"
    base = baseline.report()
    result = {
        "scenario": "queue-claims",
        "queue": "claims",
        "description": f"{reps} reps over HTTP, each GET /queue/ then POST /queue/touch "
        "(no_answer) closed-loop: a touch recorded and the next lead claimed per request.",
        "size": {
            "enrollments": population.enrollments,
            "reps": reps,
            "setup_s": population.setup_s,
        },
        "baseline": base,
        "target": target,
        "ratio": {
            "claims_per_bare": round(claims_per_s / baseline.rps, 3) if baseline.rps else None,
            "p50": round(p50 * 1000 / baseline.p50_ms, 2) if p50 and baseline.p50_ms else None,
        },
        "counts": counts,
        "integrity": integrity,
        "cpu_s": {"baseline": cpu_base, "claims": cpu_claims},
        "cpu_ms_per_claim": round(
            (cpu_claims["gunicorn"] + cpu_claims["postgres"]) * 1000 / max(1, len(all_answers)),
            2,
        ),
        "cpu_ms_per_bare": round(
            (cpu_base["gunicorn"] + cpu_base["postgres"]) * 1000 / max(1, baseline.requests), 2
        ),
        "load_average": {"before": load_before, "after": load_after},
        "explain": explain,
        "profile": profile,
        "goal": {
            "goal": f">= {GOAL_CLAIMS_PER_S:g} claims/s, p99 <= {GOAL_P99_MS:g} ms, 0 double "
            f"assignments ({GOAL_ENROLLMENTS:,} enrollments, {GOAL_REPS} reps)",
            "met": met,
            "detail": detail,
        },
    }
    return result, problems


@dataclass(frozen=True)
class _Bare:
    method: str = "GET"
    path: str = "/bench/bare"
    headers: dict[str, str] = field(default_factory=lambda: {"Host": "localhost"})
    body: bytes | None = None
    ids: tuple[str, ...] = ()


_bare = _Bare()


# --- queue-lag ----------------------------------------------------------------------------------


def mql_requests(sources: ingest.Sources, prefix: str) -> Callable[[], messaging.HttpRequest]:
    """One analytics.js batch per request with one `Newsletter Subscribed` track call from a
    visitor never seen before (its e-mail in the traits): each is a new contact, made an MQL
    by the shipped definition as soon as the worker processes it."""
    lock = threading.Lock()
    counter = iter(range(10**9))
    auth = base64.b64encode(f"{sources.write_key}:".encode()).decode()
    headers = {
        "Host": "localhost",
        "Content-Type": "application/json",
        "Authorization": f"Basic {auth}",
        "User-Agent": "growth-bench (analytics.js-shaped newsletter sign-ups)",
    }

    def make() -> messaging.HttpRequest:
        with lock:
            n = next(counter)
        now = datetime.now(UTC)
        message_id = f"{prefix}{n}"
        visitor = f"{prefix}{n}"
        message = {
            "type": "track",
            "messageId": message_id,
            "userId": f"subscriber-{visitor}",
            "anonymousId": str(uuid.uuid5(uuid.NAMESPACE_URL, visitor)),
            "event": MQL_EVENT,
            "properties": {"list": "weekly", "source": "footer"},
            "context": {
                "library": {"name": "analytics.js", "version": "next-1.70.0"},
                "page": {
                    "path": "/",
                    "url": "https://shop.example.com/",
                    "referrer": "https://www.google.com/",
                    "title": "Bench shop",
                },
                "traits": {
                    "email": f"subscriber-{visitor}@example.com",
                    "first_name": "Sub",
                    "last_name": f"Scriber {n}",
                },
                "userAgent": ingest.USER_AGENT,
                "locale": "en-US",
                "timezone": "Europe/Berlin",
            },
            "originalTimestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        body = {
            "batch": [message],
            "sentAt": message["timestamp"],
            "context": {"library": {"name": "analytics.js"}},
        }
        data = json.dumps(body, separators=(",", ":")).encode()
        return messaging.HttpRequest("POST", "/ingest/v1/batch", headers, data, (message_id,))

    return make


# Per message of the run: raw row stored, event row, MQL recorded, enrollment started. Each
# table is read once through its own index, then joined (one pass, however large the shop).
LAG_SQL = """
WITH d AS MATERIALIZED (
    SELECT delivery_id, received_at FROM leads_inbounddelivery
    WHERE source_id = %(source)s AND starts_with(delivery_id, %(prefix)s)
), ev AS MATERIALIZED (
    SELECT id, message_id, received_at FROM leads_event
    WHERE source_id = %(source)s AND starts_with(message_id, %(prefix)s)
), sc AS MATERIALIZED (
    SELECT id, event_id, contact_id, at FROM leads_stagechange
    WHERE to_stage = 'mql' AND at >= %(since)s
), en AS MATERIALIZED (
    SELECT key, started_at, due_at, rep_id, kind FROM cadences_enrollment
    WHERE key LIKE 'mql:%%' AND started_at >= %(since)s
)
SELECT d.delivery_id, extract(epoch FROM d.received_at)::float8,
       extract(epoch FROM ev.received_at)::float8, extract(epoch FROM sc.at)::float8,
       extract(epoch FROM en.started_at)::float8, extract(epoch FROM en.due_at)::float8,
       en.rep_id, en.kind, sc.contact_id
FROM d
LEFT JOIN ev ON ev.message_id = d.delivery_id
LEFT JOIN sc ON sc.event_id = ev.id
LEFT JOIN en ON en.key = 'mql:' || sc.id
"""
# While waiting: enrollments of new MQLs since the load began (the key index), and what
# the inbound queue still holds. Cheap, so polling does not load the database it measures.
PROGRESS_SQL = """
SELECT (SELECT count(*) FROM cadences_enrollment
        WHERE key LIKE 'mql:%%' AND started_at >= %(since)s),
       (SELECT count(*) FROM leads_inbounddelivery
        WHERE source_id = %(source)s AND status IN ('pending', 'processing'))
"""


def _progress(conn: Any, source: int, since: datetime) -> tuple[int, int]:
    """(enrollments of MQLs since `since`, deliveries not processed yet)."""
    row = conn.execute(PROGRESS_SQL, {"source": source, "since": since}).fetchone()
    return int(row[0]), int(row[1])


# Worker layouts for queue-lag, two processes either way. "shipped": one worker on every
# queue, as `make run` / `make demo` start it (growth/run.py). "split": one process on the
# inbound queue and one on the others, so a long inbound drain cannot hold up enrollments.
LAYOUTS: dict[str, list[tuple[str, int]]] = {
    "shipped": [(messaging.QUEUES, WORKER_CONCURRENCY)],
    "split": [("default", 1), ("messaging,dispatch,long,analytics", 1)],
}


def queue_workers(env: dict[str, str], tmp: Path, layout: str) -> list[messaging.Proc]:
    procs = []
    prefix = [sys.executable, "-m", "celery"]
    for n, (queues, concurrency) in enumerate(LAYOUTS[layout]):
        command = [
            *prefix,
            "-A",
            "growth",
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-n",
            f"bench-queue-{n}@%h",
            "--loglevel",
            "WARNING",
            "--purge",
            "--without-mingle",
            "--without-gossip",
        ]
        procs.append(
            messaging.Proc(
                f"celery worker ({queues} -c {concurrency})", command, env, tmp / f"worker-{n}.log"
            )
        )
    return procs


def run_lag(
    args: argparse.Namespace,
    env: dict[str, str],
    tmp: Path,
    server: Any,
    drive: Callable[..., Any],
) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    reps = args.queue_reps
    print(f"  generating {args.contacts:,} enrollments over {reps} reps ...", flush=True)
    population = populate(args.database_url, env, enrollments=args.contacts, reps=reps)
    run_id = uuid.uuid4().hex[:8]
    sources = ingest.create_sources(env, run_id)
    port = server.port
    workers = queue_workers(env, tmp, args.queue_lag_workers)
    prefix = f"{run_id}-queue-lag-m-"
    load_before = os.getloadavg()
    pgid = server.process.pid if server.process is not None else None

    def workers_running(doing: str) -> None:
        for worker in workers:
            worker.ensure_running(doing)

    def workers_cpu() -> float:
        return sum(messaging.group_cpu(w.process.pid) for w in workers if w.process is not None)

    try:
        for worker in workers:
            worker.start()
        # Ready: a probe sign-up went all the way to an enrollment (outside the figures).
        probes = mql_requests(sources, f"{run_id}-queue-lag-probe-")
        began = time.monotonic()
        with ingest._connect(args.database_url) as conn:
            start_of_probes = conn.execute("SELECT now()").fetchone()[0]
            while True:
                probe = drive(
                    port,
                    probes,
                    label="probe",
                    duration=1.0,
                    concurrency=1,
                    max_requests=1,
                )
                if probe.errors:
                    raise ScenarioError(f"queue-lag: the probe was refused: {probe.error_samples}")
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    workers_running("while starting")
                    if _progress(conn, sources.tracking_id, start_of_probes)[0]:
                        break
                    time.sleep(POLL)
                else:
                    if time.monotonic() - began > 90:
                        raise ScenarioError(
                            "queue-lag: no probe sign-up was enrolled within 90 s:\n"
                            + "\n".join(w.log_tail() for w in workers)
                        )
                    continue
                break
            time.sleep(1.0)

            rate, duration = args.queue_lag_rate, args.queue_lag_duration
            print(f"  load: {rate:g} new MQLs/s for {duration:g} s ...", flush=True)
            since = conn.execute("SELECT now()").fetchone()[0]
            cpu_before = (workers_cpu(), *_cpu_now(pgid, conn))
            measured = drive(
                port,
                mql_requests(sources, prefix),
                label=f"POST /ingest/v1/batch @ {rate:g} MQL/s",
                duration=duration,
                concurrency=args.lag_concurrency,
                max_requests=args.max_requests,
                rate=rate,
            )
            load_end = time.monotonic()
            accepted = set(measured.accepted_ids)
            backlog = len(accepted) - _progress(conn, sources.tracking_id, since)[0]
            drained: float | None = None
            last, last_change = -1, time.monotonic()
            while True:
                workers_running("during queue-lag")
                enrolled, pending = _progress(conn, sources.tracking_id, since)
                now = time.monotonic()
                if enrolled != last:
                    last, last_change = enrolled, now
                if enrolled >= len(accepted) and pending == 0:
                    drained = now - load_end
                    break
                if now - load_end > args.lag_timeout or (pending == 0 and now - last_change > 10):
                    break
                time.sleep(POLL)
            cpu_after = (workers_cpu(), *_cpu_now(pgid, conn))
            rows = conn.execute(
                LAG_SQL, {"source": sources.tracking_id, "prefix": prefix, "since": since}
            ).fetchall()
            # Every enrollment (any key) of the contacts these MQLs are: exactly one each.
            contact_ids = sorted({int(r[8]) for r in rows if r[8] is not None})
            enrolled_twice = conn.execute(
                "SELECT count(*) FROM (SELECT contact_id FROM cadences_enrollment"
                " WHERE contact_id = ANY(%s) GROUP BY contact_id HAVING count(*) > 1) AS x",
                [contact_ids],
            ).fetchone()[0]
            statuses = dict(
                conn.execute(
                    "SELECT status, count(*) FROM leads_inbounddelivery WHERE source_id = %s"
                    " AND starts_with(delivery_id, %s) GROUP BY status",
                    [sources.tracking_id, prefix],
                ).fetchall()
            )
    finally:
        for worker in workers:
            worker.stop()
        worker_log = "\n".join(w.log_tail(40) for w in workers)
        messaging.purge_queues(env)
    load_after = os.getloadavg()

    if measured.errors:
        problems.append(f"queue-lag: {measured.errors} ingest requests failed")
        for sample in measured.error_samples:
            print(f"queue-lag: {sample}", file=sys.stderr)
    mine = [r for r in rows if r[0] in accepted]
    enrolled_rows = [r for r in mine if r[4] is not None]
    to_event = [float(r[2]) - float(r[1]) for r in mine if r[2] is not None]
    to_mql = [float(r[3]) - float(r[1]) for r in mine if r[3] is not None]
    to_queue = [float(r[4]) - float(r[1]) for r in enrolled_rows]
    mql_to_queue = [float(r[4]) - float(r[3]) for r in enrolled_rows]
    without_event = sum(1 for r in mine if r[2] is None)
    without_mql = sum(1 for r in mine if r[2] is not None and r[3] is None)
    without_enrollment = sum(1 for r in mine if r[3] is not None and r[4] is None)
    # A message that made two MQL moves, or a contact with a second enrollment: both count.
    per_message = Counter(r[0] for r in mine)
    twice = int(enrolled_twice) + sum(1 for n in per_message.values() if n > 1)
    due_at_once = sum(
        1 for r in enrolled_rows if r[5] is not None and float(r[5]) <= float(r[4]) + 0.001
    )
    manual = sum(1 for r in enrolled_rows if r[7] == "call")
    assigned = sum(1 for r in enrolled_rows if r[6] is not None)
    lags = sorted(to_queue) + [float("inf")] * (len(mine) - len(enrolled_rows))
    p95 = percentile(lags, 0.95)
    sent_rate = len(accepted) / measured.seconds if measured.seconds else 0.0
    if twice:
        problems.append(f"queue-lag: {twice} contacts got more than one enrollment")
    if without_event or without_mql or without_enrollment:
        problems.append(
            f"queue-lag: of {len(mine)} sign-ups accepted, {without_event} made no event, "
            f"{without_mql} no MQL, {without_enrollment} MQLs no enrollment"
        )
    if statuses.get("failed"):
        problems.append(f"queue-lag: {statuses['failed']} deliveries failed")
    within = (
        p95 is not None
        and p95 <= GOAL_LAG_P95_S
        and bool(mine)
        and not (without_event or without_mql or without_enrollment or twice)
    )
    # As for queue-claims: the queues the issue states (a new lead's assignment reads them).
    at_size = population.enrollments >= GOAL_ENROLLMENTS and reps >= GOAL_REPS
    met: bool | None = within if (at_size or not within) else None
    worker_cpu = round(cpu_after[0] - cpu_before[0], 2)
    spent = _cpu_spent(cpu_before[1:], cpu_after[1:])  # type: ignore[arg-type]
    result = {
        "scenario": "queue-lag",
        "queue": "lag",
        "description": f"New MQLs ({MQL_EVENT} from new visitors) through POST /ingest/v1/batch "
        "at --queue-lag-rate; lag from the raw row to the enrollment in a rep's queue.",
        "size": {
            "enrollments": population.enrollments,
            "reps": reps,
            "setup_s": population.setup_s,
        },
        "target": measured.report(),
        "load": {
            "offered_mqls_per_s": args.queue_lag_rate,
            "duration_s": args.queue_lag_duration,
            "workers": args.queue_lag_workers,
            "worker_processes": [f"-Q {q} -c {c}" for q, c in LAYOUTS[args.queue_lag_workers]],
            "accepted_per_s": round(sent_rate, 1),
            "accepted": len(accepted),
            "not_enrolled_when_load_stopped": backlog,
            "drained_s": round(drained, 2) if drained is not None else None,
            "timeout_s": args.lag_timeout,
            "inbound_statuses": {str(k): int(v) for k, v in statuses.items()},
        },
        "counts": {
            "mqls": len(to_mql),
            "enrolled": len(enrolled_rows),
            "without_event": without_event,
            "without_mql": without_mql,
            "without_enrollment": without_enrollment,
            "contacts_enrolled_twice": twice,
            "assigned_to_a_rep": assigned,
            "call_due_at_once": min(due_at_once, manual),
        },
        "lag_accepted_to_event": messaging.spread(to_event),
        "lag_accepted_to_mql": messaging.spread(to_mql),
        "lag_mql_to_queue": messaging.spread(mql_to_queue),
        "lag_accepted_to_queue": messaging.spread(to_queue),
        "cpu_s": {"worker": worker_cpu, **spent},
        "load_average": {"before": load_before, "after": load_after},
        "worker_log_tail": worker_log if problems else "",
        "goal": {
            "goal": f"new MQL at the front of a rep's queue p95 <= {GOAL_LAG_P95_S:g} s after "
            f"the event is accepted ({GOAL_ENROLLMENTS:,} enrollments, {GOAL_REPS} reps)",
            "met": met,
            "detail": "p95 "
            + ("-" if p95 is None else ("never" if p95 == float("inf") else f"{p95:.2f} s"))
            + f" over {len(mine):,} MQLs at {sent_rate:.1f} MQLs/s accepted, "
            f"{population.enrollments:,} enrollments in the queues"
            + ("" if met is not None else f"; run --contacts {GOAL_ENROLLMENTS} to assess"),
        },
    }
    return result, problems


# --- Entry point and report -------------------------------------------------------------------


def run(
    name: str,
    args: argparse.Namespace,
    env: dict[str, str],
    tmp: Path,
    *,
    server: Any,
    drive: Callable[..., Any],
) -> tuple[dict[str, Any], list[str]]:
    """One queue scenario; (result, problems). Processes it starts are stopped however it ends."""
    ingest.guard_database(args.database_url)
    scratch = tmp / name
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        if name == "queue-claims":
            return run_claims(args, env, server, drive)
        if name == "queue-lag":
            return run_lag(args, env, scratch, server, drive)
    except (ScenarioError, messaging.ScenarioError, ingest.SetupError) as exc:
        return (
            {"scenario": name, "queue": "failed", "error": str(exc)},
            [f"{name}: {exc}"],
        )
    raise ValueError(name)


def _goal_cell(goal: dict[str, Any] | None) -> str:
    if not goal:
        return ""
    return {True: "met", False: "NOT met", None: "n/a"}[goal["met"]]


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table_rows(result: dict[str, Any]) -> list[list[str]]:
    """run.py's table. queue-claims: the bare view, then the POSTs (req/s column: claims/s).
    queue-lag: p50 / p99 columns hold the accepted -> in the queue lag in ms (p50 / p95)."""
    kind, name = result["queue"], result["scenario"]
    if kind == "failed":
        return [[name, "(failed)", "", "", "", "1", "", "NOT met"]]
    if kind == "claims":
        base, target, ratio = result["baseline"], result["target"], result["ratio"]
        counts = result["counts"]
        return [
            [
                name,
                f"/bench/bare (baseline, {result['size']['reps']} threads)",
                f"{base['rps']:.1f}",
                f"{base['p50_ms']:.2f}",
                f"{base['p99_ms']:.2f}",
                str(base["errors"]),
                "",
                "",
            ],
            [
                "",
                f"POST /queue/touch, claims/s ({result['size']['enrollments']:,} enrollments)",
                f"{target['claims_per_s']:.1f}",
                _f(target["p50_ms"]),
                _f(target["p99_ms"]),
                str(counts["errors"] + counts["double_assignments"]),
                f"{_f(ratio['claims_per_bare'])}x req/s, {_f(ratio['p50'])}x p50",
                _goal_cell(result["goal"]),
            ],
        ]
    lag = result["lag_accepted_to_queue"]
    return [
        [
            name,
            f"MQL accepted -> in a rep's queue @ {result['load']['offered_mqls_per_s']:g}/s "
            "(p50/p95)",
            f"{result['target']['rps']:.1f}",
            messaging._ms(lag["p50_s"]),
            messaging._ms(lag["p95_s"]),
            str(
                result["target"]["errors"]
                + result["counts"]["without_enrollment"]
                + result["counts"]["contacts_enrolled_twice"]
            ),
            f"{result['load']['accepted_per_s']:.1f} MQL/s accepted",
            _goal_cell(result["goal"]),
        ]
    ]


def _s(value: float | None) -> str:
    return messaging._s(value)


def _load(load: dict[str, Any]) -> str:
    before, after = load["before"], load["after"]
    return f"{before[0]:.2f} / {before[1]:.2f} before, {after[0]:.2f} / {after[1]:.2f} after"


def print_details(result: dict[str, Any]) -> None:
    kind = result["queue"]
    print(f"\n{result['scenario']}:")
    if kind == "failed":
        print("  failed: " + result["error"][-1500:])
        return
    size = result["size"]
    print(
        f"  size: {size['enrollments']:,} active enrollments (a due call each) over "
        f"{size['reps']} reps; generated in {size['setup_s']:g} s"
    )
    if kind == "claims":
        t, c, i = result["target"], result["counts"], result["integrity"]
        print(
            f"  measured: {t['requests']:,} POSTs in {t['seconds']:g} s, {t['claims']:,} with a "
            f"new lead: {t['claims_per_s']:.1f} claims/s; latency p50 {_f(t['p50_ms'])} ms, "
            f"p95 {_f(t['p95_ms'])} ms, p99 {_f(t['p99_ms'])} ms, max {_f(t['max_ms'])} ms"
        )
        print(
            f"  whole run (warm-up included): {c['page_loads']} page loads, {c['posts']:,} POSTs "
            f"({c['posts_ok']:,} answered 2xx), {c['leads_shown']:,} leads shown "
            f"({c['distinct_leads']:,} distinct, {c['same_lead_again']} the same lead again, "
            f"{c['answers_without_lead']} answers without a lead); errors {c['errors']}"
        )
        print(
            f"  double assignments (a lead shown to two reps): {c['double_assignments']}"
            + (f", e.g. {c['double_examples']}" if c["double_assignments"] else "")
        )
        print(
            f"  database: {i['touches']:,} touches recorded for {c['posts_ok']:,} POSTs answered "
            f"2xx; steps touched by two reps {i['steps_touched_by_two_reps']}, twice "
            f"{i['steps_touched_twice']}; touches by a rep not the lead's "
            f"{i['touches_by_another_rep']}; reps holding two leases {i['reps_with_two_leases']}; "
            f"{i['finished_after']:,} enrollments finished (third call done)"
        )
        cpu = result["cpu_s"]
        print(
            f"  CPU s (gunicorn / postgres / driver): bare {cpu['baseline']['gunicorn']} / "
            f"{cpu['baseline']['postgres']} / {cpu['baseline']['driver']}, queue "
            f"{cpu['claims']['gunicorn']} / {cpu['claims']['postgres']} / "
            f"{cpu['claims']['driver']}; server CPU per request: bare "
            f"{result['cpu_ms_per_bare']} ms, queue {result['cpu_ms_per_claim']} ms"
        )
        print(f"  load average (1 / 5 min): {_load(result['load_average'])}; 2 cores shared")
        profile = result.get("profile") or {}
        if profile.get("queries"):
            print(
                f"  one POST in-process (median of {profile['requests']}, Django test client): "
                f"{profile['queries']} queries, {profile['wall_ms']} ms wall, "
                f"{profile['python_cpu_ms']} ms Python CPU, {profile['sql_ms']} ms waiting for SQL"
            )
            parts = profile.get("parts_cpu_ms") or {}
            if parts:
                print(
                    "  its parts, Python CPU ms (median): "
                    + ", ".join(
                        f"{label} {parts[key]}"
                        for key, label in (
                            ("record", "record the touch"),
                            ("claim", "claim the next lead"),
                            ("card", "the card's data"),
                            ("timeline", "of which the timeline"),
                            ("render", "render the card"),
                        )
                        if key in parts
                    )
                )
        elif profile.get("error"):
            print(f"  in-process profile failed: {profile['error'][-300:]}")
        # The plan in the JSON report; here what it reads and what it costs.
        shown = [
            line.strip()
            for line in result["explain"]
            if "Scan" in line or line.strip().startswith(("Planning Time", "Execution Time"))
        ]
        if shown:
            print("  the claim's plan (EXPLAIN ANALYZE, one rep; whole plan in the JSON report):")
            for line in shown:
                print(f"    {line}")
    else:
        load, c = result["load"], result["counts"]
        print(
            f"  workers ({load['workers']}): {', '.join(load['worker_processes'])}" + "\n"
            f"  load: {load['offered_mqls_per_s']:g} MQLs/s offered for {load['duration_s']:g} s, "
            f"{load['accepted_per_s']:.1f}/s accepted ({load['accepted']:,}); inbound "
            f"{load['inbound_statuses']}; not yet enrolled when the load stopped: "
            f"{load['not_enrolled_when_load_stopped']}; all enrolled "
            + (
                f"{load['drained_s']} s after the load"
                if load["drained_s"] is not None
                else "NOT (gave up)"
            )
        )
        print(
            f"  {c['mqls']:,} MQLs, {c['enrolled']:,} enrolled ({c['assigned_to_a_rep']:,} "
            f"assigned to a rep, the rest in the pool; {c['call_due_at_once']:,} with the call "
            f"due at once); without event {c['without_event']}, without MQL {c['without_mql']}, "
            f"without enrollment {c['without_enrollment']}; contacts enrolled twice "
            f"{c['contacts_enrolled_twice']}"
        )
        for label, key in (
            ("accepted -> event row", "lag_accepted_to_event"),
            ("accepted -> MQL recorded", "lag_accepted_to_mql"),
            ("MQL recorded -> enrolled", "lag_mql_to_queue"),
            ("accepted -> in the queue", "lag_accepted_to_queue"),
        ):
            s = result[key]
            print(
                f"  {label}: p50 {_s(s['p50_s'])}, p95 {_s(s['p95_s'])}, p99 {_s(s['p99_s'])}, "
                f"max {_s(s['max_s'])} (n {s['n']:,})"
            )
        cpu = result["cpu_s"]
        print(
            f"  CPU s during the load and drain (worker / gunicorn / postgres): {cpu['worker']} / "
            f"{cpu['gunicorn']} / {cpu['postgres']}"
        )
        print(f"  load average (1 / 5 min): {_load(result['load_average'])}; 2 cores shared")
        if result.get("worker_log_tail"):
            print("  worker log tail:\n" + result["worker_log_tail"])
    goal = result["goal"]
    print(f"  goal {goal['goal']}: {_goal_cell(goal)} ({goal['detail']})")
