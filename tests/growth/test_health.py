import time

import pytest
from django.db import transaction
from django.urls import reverse

from growth.health import HEARTBEAT_KEY, heartbeat_age, redis_client
from growth.tasks import beat_tick
from tests.polling import poll

pytestmark = pytest.mark.django_db


def test_healthz_without_a_worker_is_503_naming_the_worker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["worker"]
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert body["worker"]["detail"] == "no heartbeat yet"


def test_healthz_with_a_stale_heartbeat_names_its_age(client, settings):
    redis_client().set(HEARTBEAT_KEY.format("worker"), time.time() - 600)
    body = client.get(reverse("healthz")).json()
    assert body["down"] == ["worker"]
    assert body["worker"]["age_seconds"] >= 600


def test_healthz_is_200_with_a_live_worker(client, celery_worker):
    # The worker's own heartbeat step writes the key as it starts.
    assert poll(lambda: heartbeat_age("worker") is not None)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert 0 <= body["worker"]["age_seconds"] < 5


def test_task_enqueued_on_commit_runs_on_the_worker(celery_worker):
    with transaction.atomic():
        beat_tick.delay_on_commit()
        # Nothing is sent before the transaction commits.
        assert heartbeat_age("beat") is None
    assert poll(lambda: heartbeat_age("beat") is not None)


def test_celery_defaults():
    from growth.celery import app

    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_time_limit > conf.task_soft_time_limit > 0
    assert conf.worker_prefetch_multiplier == 1
    assert "beat-tick" in conf.beat_schedule


def test_system_page_shows_each_part(client_as):
    from growth.roles import Role

    body = client_as(Role.ADMIN).get(reverse("system")).content.decode()
    for part in ("database", "redis", "worker", "beat"):
        assert f"<td>{part}</td>" in body
    assert "no heartbeat yet" in body
