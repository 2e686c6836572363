"""Growth benchmarks: each scenario against its baseline, same run, same machine.

Run from the repository root (`make bench` does this):

    .venv/bin/python bench/run.py [--duration 5] [--concurrency 8] [--scenario healthz]

For every scenario the harness measures the baseline path and the scenario's path with the
same closed-loop driver against one gunicorn, prints one table and writes a JSON report.
What matters is the ratio to the baseline, not the absolute numbers: the driver runs on the
same CPUs as the server. Nothing here asserts a wall-clock threshold; the exit status is
non-zero only when the server does not start or a request fails. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import http.client
import json
import math
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

HOST = "127.0.0.1"  # all benchmark traffic stays on this machine
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/growth_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 4
STARTUP_TIMEOUT = 60.0


@dataclass(frozen=True)
class Scenario:
    name: str
    baseline_path: str
    path: str
    description: str


# The registry: later scenarios (ingest, import, scoring, KPIs) append here.
SCENARIOS: list[Scenario] = [
    Scenario(
        name="healthz",
        baseline_path="/bench/bare",
        path="/healthz",
        description="Health probe (one SELECT 1, Redis PING and GETs) vs a bare Django view.",
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
    error_samples: list[str] = field(default_factory=list)


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


class Server:
    """gunicorn in its own process group, so stopping it stops every worker with it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                gunicorn_command(self.port),
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

    def wait_until_up(self, path: str, timeout: float = STARTUP_TIMEOUT) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"gunicorn exited with status {self.process.returncode} while starting:\n"
                    + self.log_tail()
                )
            status, _body, error = fetch(self.port, path)
            if status is not None and 200 <= status < 300:
                return
            last_error = error or f"HTTP {status}"
            time.sleep(0.2)
        raise BenchError(
            f"gunicorn did not answer {path} within {timeout:.0f}s ({last_error}):\n"
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
        # Workers outlive a master that died: clean up the whole group either way.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.poll() is None:
            process.wait()
        self.process = None


# --- Load driver --------------------------------------------------------------------------


def fetch(port: int, path: str, timeout: float = 5.0) -> tuple[int | None, bytes, str | None]:
    """One request on a fresh connection: (status, body, error)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": "localhost"})
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
    port: int, path: str, *, duration: float, concurrency: int, max_requests: int
) -> Measurement:
    """Closed loop: `concurrency` threads, each with its own keep-alive connection, send the
    next request as soon as the previous answer is read, until the time or count is up."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    error_samples: list[str] = []
    issued = 0
    issued_lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)
    deadline = 0.0

    def take_ticket() -> bool:
        nonlocal issued
        with issued_lock:
            if issued >= max_requests:
                return False
            issued += 1
            return True

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        own = latencies[index]
        start.wait()
        try:
            while time.perf_counter() < deadline and take_ticket():
                began = time.perf_counter()
                try:
                    conn.request("GET", path, headers={"Host": "localhost"})
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                    problem = None if 200 <= status < 300 else f"HTTP {status}"
                except (OSError, http.client.HTTPException) as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                    conn.close()  # the next request reconnects
                own.append(time.perf_counter() - began)
                if problem is not None:
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
    return Measurement(
        path=path,
        requests=count,
        errors=sum(errors),
        seconds=round(elapsed, 3),
        rps=round(count / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=round(percentile(merged, 0.50) * 1000, 3),
        p99_ms=round(percentile(merged, 0.99) * 1000, 3),
        mean_ms=round(sum(merged) / count * 1000, 3) if count else float("nan"),
        max_ms=round(merged[-1] * 1000, 3) if count else float("nan"),
        error_samples=error_samples,
    )


# --- Report -------------------------------------------------------------------------------


def ratios(baseline: Measurement, target: Measurement) -> dict[str, float | None]:
    return {
        "rps": round(target.rps / baseline.rps, 3) if baseline.rps else None,
        "p50": round(target.p50_ms / baseline.p50_ms, 3) if baseline.p50_ms else None,
    }


def print_table(results: list[dict[str, Any]]) -> None:
    headers = ["scenario", "target", "req/s", "p50 ms", "p99 ms", "errors", "ratio"]
    rows: list[list[str]] = []
    for result in results:
        baseline, target = result["baseline"], result["target"]
        ratio = result["ratio"]
        for label, m, ratio_text in (
            ("baseline", baseline, ""),
            ("target", target, f"{ratio['rps']:.2f}x req/s, {ratio['p50']:.2f}x p50"),
        ):
            rows.append(
                [
                    result["scenario"] if label == "baseline" else "",
                    f"{m['path']}" + (" (baseline)" if label == "baseline" else ""),
                    f"{m['rps']:.1f}",
                    f"{m['p50_ms']:.2f}",
                    f"{m['p99_ms']:.2f}",
                    str(m["errors"]),
                    ratio_text,
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
    parser.add_argument("--contacts", type=int, default=2_000)
    parser.add_argument("--orders", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=20_000)
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
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.concurrency < 1 or args.max_requests < 1 or args.warmup < 0:
        parser.error("--duration, --concurrency and --max-requests must be positive")
    return args


def select_scenarios(patterns: list[str] | None) -> list[Scenario]:
    if not patterns:
        return list(SCENARIOS)
    chosen = [s for s in SCENARIOS if any(fnmatch.fnmatchcase(s.name, p) for p in patterns)]
    if not chosen:
        names = ", ".join(s.name for s in SCENARIOS)
        raise BenchError(f"no scenario matches {' '.join(patterns)} (known: {names})")
    return chosen


def run(args: argparse.Namespace) -> int:
    scenarios = select_scenarios(args.scenario)
    env = bench_env(args.database_url, args.redis_url)

    ensure_database(args.database_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    record_worker_heartbeat(env)

    results: list[dict[str, Any]] = []
    failed = False
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
                for path in (scenario.baseline_path, scenario.path):
                    status, body, error = fetch(server.port, path)
                    if status is None or not 200 <= status < 300:
                        detail = error or f"HTTP {status}: {body[:500].decode(errors='replace')}"
                        raise BenchError(f"{scenario.name}: {path} does not answer 2xx: {detail}")
                measured: dict[str, Measurement] = {}
                for role, path in (("baseline", scenario.baseline_path), ("target", scenario.path)):
                    if args.warmup:
                        warmup = drive(
                            server.port,
                            path,
                            duration=args.warmup,
                            concurrency=args.concurrency,
                            max_requests=args.max_requests,
                        )
                        failed = failed or warmup.errors > 0
                    measured[role] = drive(
                        server.port,
                        path,
                        duration=args.duration,
                        concurrency=args.concurrency,
                        max_requests=args.max_requests,
                    )
                    for sample in measured[role].error_samples:
                        print(f"{scenario.name} {path}: {sample}", file=sys.stderr)
                    failed = failed or measured[role].errors > 0
                results.append(
                    {
                        "scenario": scenario.name,
                        "description": scenario.description,
                        "baseline": asdict(measured["baseline"]),
                        "target": asdict(measured["target"]),
                        "ratio": ratios(measured["baseline"], measured["target"]),
                    }
                )
        finally:
            server.stop()
            gunicorn_log = server.log_tail(200)

    print()
    print_table(results)
    report = {
        "machine": machine_info(),
        "parameters": {
            "duration": args.duration,
            "concurrency": args.concurrency,
            "max_requests": args.max_requests,
            "warmup": args.warmup,
            "scenarios": [s.name for s in scenarios],
            "contacts": args.contacts,
            "orders": args.orders,
            "events": args.events,
            "server": {
                "command": "gunicorn growth.wsgi:application",
                "workers": GUNICORN_WORKERS,
                "worker_class": "gthread",
                "threads": GUNICORN_THREADS,
            },
            "database": urlsplit(args.database_url).path.lstrip("/"),
        },
        "results": results,
        "ok": not failed,
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json_out}")
    if failed:
        print("requests failed; gunicorn log tail:\n" + gunicorn_log, file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for scenario in SCENARIOS:
            print(f"{scenario.name}: {scenario.path} vs {scenario.baseline_path}")
            print(f"    {scenario.description}")
        return 0

    # SIGTERM (CI cancelling the job) unwinds like Ctrl-C, so gunicorn is always stopped.
    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return run(args)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
