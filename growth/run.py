"""Run the whole of Growth in one foreground process: `python -m growth.run demo|serve`.

- `demo` (make demo): embedded PostgreSQL and Redis when `DATABASE_URL` / `REDIS_URL` are
  unset, a persisted development secret key, migrations, the demo shop, then web + worker
  + beat. `--reset` starts from empty data.
- `serve` (make run): the same processes against the configured servers; nothing is
  invented, so `SECRET_KEY` and friends must be set.

Each child gets its own process group, so Ctrl-C here stops the children (and theirs:
gunicorn and Celery pool workers) and then the embedded servers: no orphans.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from growth import devservices

BASE_DIR = Path(__file__).resolve().parent.parent
COLOURS = {"web": "\033[36m", "worker": "\033[35m", "beat": "\033[33m", "shop": "\033[32m"}
RESET_COLOUR = "\033[0m"


def say(message: str) -> None:
    print(f"growth | {message}", flush=True)


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, cwd=BASE_DIR)


def dev_secret_key() -> str:
    path = devservices.data_dir() / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def reset_configured_database() -> None:
    """`make demo RESET=1` against a configured server: empty the schema, keep the database."""
    manage(
        "shell",
        "-c",
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute('DROP SCHEMA public CASCADE; CREATE SCHEMA public;')",
    )


class Supervisor:
    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[str]] = {}
        self.stopping = threading.Event()

    def start(self, name: str, args: list[str]) -> None:
        process = subprocess.Popen(
            args,
            cwd=BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # own process group: we decide when it stops
        )
        self.children[name] = process
        threading.Thread(target=self._pump, args=(name, process), daemon=True).start()

    def _pump(self, name: str, process: subprocess.Popen[str]) -> None:
        colour = COLOURS.get(name, "") if sys.stdout.isatty() else ""
        end = RESET_COLOUR if colour else ""
        assert process.stdout is not None
        for line in process.stdout:
            print(f"{colour}{name:<6}|{end} {line.rstrip()}", flush=True)

    def first_exited(self) -> str | None:
        for name, process in self.children.items():
            if process.poll() is not None:
                return name
        return None

    def stop(self, timeout: float = 15.0) -> None:
        for process in self.children.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        for process in self.children.values():
            # The group may hold pool workers even after the leader exited.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def wait_until_up(url: str, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our http URL)
                if response.status == 200:
                    return True
        except urllib.error.HTTPError:
            pass  # 503 while the worker warms up
        except OSError:
            pass
        time.sleep(0.5)
    return False


def banner(url: str, *, demo: bool) -> None:
    say("")
    say(f"Growth is running at {url}")
    if demo:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "growth.settings")
        django.setup()  # role labels are translatable strings
        from growth.demo import logins

        say(f"Demo storefront (tracked live): {url}/demo-shop/")
        say("Demo logins (role, user name, password):")
        for role, username, password in logins():
            say(f"  {role:<14} {username:<14} {password}")
    say("Press Ctrl-C to stop.")
    say("")


def local_url(host: str, port: int) -> str:
    """Where this machine reaches the server (a wildcard bind is reached on 127.0.0.1)."""
    wildcard = host in {"0.0.0.0", "::"}  # noqa: S104 (only compared, to print a usable URL)
    return f"http://{'127.0.0.1' if wildcard else host}:{port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m growth.run")
    parser.add_argument("mode", choices=["demo", "serve"])
    parser.add_argument("--reset", action="store_true", help="start the demo from empty data")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
    options = parser.parse_args(argv)
    demo = options.mode == "demo"

    embedded_db = not os.environ.get("DATABASE_URL")
    embedded_redis = not os.environ.get("REDIS_URL")
    if demo and options.reset and embedded_db and embedded_redis:
        say("RESET: deleting the embedded data in .growth-data/")
        devservices.reset()

    supervisor = Supervisor()
    interrupted = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        interrupted.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    url = local_url(options.host, options.port)
    # Links in messages (unsubscribe, preferences, surveys) must reach this server: on another
    # port than 8000 the settings' default would send people to nothing.
    os.environ.setdefault("PUBLIC_URL", url)
    try:
        if embedded_db:
            say("starting embedded PostgreSQL (.growth-data/postgres)")
            os.environ["DATABASE_URL"] = devservices.postgres_start(stop_at_exit=False)
        if embedded_redis:
            say("starting embedded Redis (.growth-data/redis)")
            os.environ["REDIS_URL"] = devservices.redis_start(stop_at_exit=False)
        # Production-like static files: hashed and compressed by collectstatic below.
        os.environ.setdefault("STATIC_MANIFEST", "1")
        if demo:
            os.environ.setdefault("SECRET_KEY", dev_secret_key())
            os.environ.setdefault("DEMO_SHOP", "1")
            if options.reset and not (embedded_db and embedded_redis):
                say("RESET: emptying the configured database")
                reset_configured_database()

        say("migrating the database")
        manage("migrate", "--noinput")
        if os.environ["STATIC_MANIFEST"].lower() in {"1", "true", "yes", "on"}:
            manage("collectstatic", "--noinput", "--verbosity", "0")
        if demo:
            say("loading the demo shop")
            manage("demo_seed")

        python = sys.executable
        schedule = devservices.data_dir() / "celerybeat-schedule"
        address = f"{options.host}:{options.port}"
        supervisor.start(
            "web",
            [python, "-m", "gunicorn", "growth.wsgi:application", "--bind", address,
             "--workers", str(options.web_workers), "--access-logfile", "-", "--graceful-timeout", "5"],
        )  # fmt: skip
        supervisor.start(
            "worker",
            [python, "-m", "celery", "-A", "growth", "worker", "--loglevel", "INFO",
             "--queues", "default,messaging,dispatch,long,analytics", "--concurrency", "2"],
        )  # fmt: skip
        supervisor.start(
            "beat",
            [python, "-m", "celery", "-A", "growth", "beat", "--loglevel", "INFO",
             "--schedule", str(schedule)],
        )  # fmt: skip

        if wait_until_up(f"{url}/healthz"):
            if demo:  # live shop traffic over HTTP, so the product visibly moves
                supervisor.start(
                    "shop", [python, str(BASE_DIR / "manage.py"), "demo_trickle", "--url", url]
                )
            banner(url, demo=demo)
        elif not interrupted.is_set():
            say(f"Growth did not become healthy; see the logs above and {url}/healthz")

        while not interrupted.is_set():
            exited = supervisor.first_exited()
            if exited:
                say(f"{exited} stopped unexpectedly; shutting down")
                return 1
            interrupted.wait(0.5)
        say("stopping")
        return 0
    except subprocess.CalledProcessError as error:
        say(f"a setup step failed: {' '.join(map(str, error.cmd[1:3]))} (exit {error.returncode})")
        return 1
    finally:
        supervisor.stop()
        if embedded_redis:
            devservices.redis_stop()
        if embedded_db:
            devservices.postgres_stop()
        say("stopped")


if __name__ == "__main__":
    sys.exit(main())
