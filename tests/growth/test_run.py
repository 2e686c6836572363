"""`make demo` end to end: embedded PostgreSQL + Redis, web + worker + beat, a clean stop
on Ctrl-C with nothing left running, and the data reused by the next run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    def __init__(self, data_dir: Path, port: int) -> None:
        # A new user's shell: none of the test run's own settings.
        unset = {
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "DEBUG",
            "STATIC_MANIFEST",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
        env = {k: v for k, v in os.environ.items() if k not in unset}
        env.update(GROWTH_DATA_DIR=str(data_dir), WEB_WORKERS="1", DEMO_CONTACTS="60")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "growth.run", "demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "Growth is running at" in line:
                self.ready.set()
        self.ready.set()  # it exited: stop waiting

    def wait_ready(self, timeout: float) -> bool:
        return self.ready.wait(timeout) and self.process.poll() is None

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        return self.process.wait(60)


def processes_using(data_dir: Path) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if str(data_dir) in " ".join(proc.info["cmdline"] or []):
                found.append(" ".join(proc.info["cmdline"]))
        except psutil.Error:
            continue
    return found


@pytest.fixture
def data_dir(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    path = Path("/tmp") / f"growth-demo-test-{os.getpid()}-{time.monotonic_ns()}"
    yield path
    from growth import devservices

    os.environ["GROWTH_DATA_DIR"] = str(path)
    try:
        devservices.reset()
    finally:
        del os.environ["GROWTH_DATA_DIR"]


def test_make_demo_runs_everything_and_stops_cleanly(data_dir):
    port = free_port()
    demo = Demo(data_dir, port)
    try:
        assert demo.wait_ready(240), demo.output
        for role_login in ("marketer", "rep", "salesmanager", "manager", "admin"):
            assert f"  {role_login}" in demo.output
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as response:
            assert b"Sign in" in response.read()
        assert processes_using(data_dir), "the embedded servers should be running"
    finally:
        code = demo.stop()
    assert code == 0, demo.output
    assert "growth | stopped" in demo.output
    assert processes_using(data_dir) == []
    assert not any(
        p.is_running()
        for p in psutil.Process().children(recursive=True)
        if p.pid == demo.process.pid
    )

    # The next run finds the same database: nothing left to migrate, demo users kept.
    second = Demo(data_dir, port)
    try:
        assert second.wait_ready(240), second.output
        assert "No migrations to apply." in second.output
    finally:
        assert second.stop() == 0, second.output
    assert processes_using(data_dir) == []


def test_the_local_url_is_where_links_in_messages_point():
    """`make demo` on another port: PUBLIC_URL (links in messages) follows it unless set."""
    from growth.run import local_url

    assert local_url("0.0.0.0", 8777) == "http://127.0.0.1:8777"  # noqa: S104
    assert local_url("::", 8000) == "http://127.0.0.1:8000"
    assert local_url("shop.example", 9000) == "http://shop.example:9000"
