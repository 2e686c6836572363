"""GET /metrics: who may read it, and the gauges against real rows and Redis keys, parsed with
prometheus_client's own text parser."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from automations.models import Delivery
from growth.health import HEARTBEAT_KEY, redis_client
from growth.roles import Role
from leads.models import InboundDelivery
from tests.leads.factories import SourceFactory

pytestmark = pytest.mark.django_db

TOKEN = "metrics-test-token-3f9a"


@pytest.fixture(autouse=True)
def _token(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN


def scrape(client: Client, **headers: str) -> Any:
    return client.get(reverse("metrics"), **headers)


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(name, labels): value} of every sample."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def value(parsed: dict[Any, float], name: str, **labels: str) -> float:
    return parsed[(name, tuple(sorted(labels.items())))]


# --- Access ---------------------------------------------------------------------------------


def test_the_right_token_reads_them(client: Client, django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(3):  # the three figure queries, no session or user
        response = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.parametrize(
    "header", [f"Bearer {TOKEN}x", "Bearer ", "Bearer wrong", f"bearer {TOKEN[:-1]}"]
)
def test_a_wrong_token_is_401(client: Client, header: str) -> None:
    response = scrape(client, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "growth_" not in response.content.decode()


def test_no_credentials_is_401(client: Client) -> None:
    assert scrape(client).status_code == 401


def test_without_a_configured_token_no_bearer_gets_in(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert scrape(client, HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_a_signed_in_user_without_view_system_is_403(client_as: Any) -> None:
    response = scrape(client_as(Role.MARKETER))
    assert response.status_code == 403
    assert "Admin" in response.content.decode()


def test_a_signed_in_admin_reads_them(client_as: Any) -> None:
    assert scrape(client_as(Role.ADMIN)).status_code == 200


def test_a_post_is_refused_without_a_csrf_check(client: Client) -> None:
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 405  # GET only, and not a CSRF 403


# --- Values ---------------------------------------------------------------------------------


def test_the_gauges_carry_the_figures(client: Client) -> None:
    now = timezone.now()
    for n, minutes in enumerate((9, 3)):
        Delivery.objects.create(
            key=f"metrics:{n}",
            channel="email",
            purpose="marketing",
            status="scheduled",
            scheduled_for=now - timedelta(minutes=minutes),
            due_at=now - timedelta(minutes=minutes),
        )
    Delivery.objects.create(
        key="metrics:failed",
        channel="sms",
        purpose="marketing",
        status="failed",
        scheduled_for=now,
        due_at=now,
    )
    source = SourceFactory()
    for n in range(3):
        InboundDelivery.objects.create(
            source=source, topic="track", delivery_id=f"m{n}", body=b"{}", status="failed"
        )
    redis = redis_client()
    redis.lpush("analytics", "x", "y")
    redis.set(HEARTBEAT_KEY.format("worker"), time.time() - 4)
    redis.set(HEARTBEAT_KEY.format("beat"), time.time() - 2)

    parsed = samples(scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode())

    assert value(parsed, "growth_queue_depth", queue="analytics") == 2
    assert value(parsed, "growth_queue_depth", queue="messaging") == 0
    assert value(parsed, "growth_due_unsent", kind="deliveries") == 2
    assert value(parsed, "growth_due_unsent", kind="journeys") == 0
    assert 9 * 60 <= value(parsed, "growth_oldest_due_seconds", kind="deliveries") < 10 * 60
    assert value(parsed, "growth_oldest_due_seconds", kind="cadences") == 0
    assert value(parsed, "growth_dead_letters", kind="inbound") == 3
    assert value(parsed, "growth_dead_letters", kind="deliveries") == 1
    assert value(parsed, "growth_dead_letters_last_day", kind="inbound") == 3
    assert 4 <= value(parsed, "growth_heartbeat_age_seconds", process="worker") < 30
    assert 2 <= value(parsed, "growth_heartbeat_age_seconds", process="beat") < 30
    assert value(parsed, "growth_rollup_lag_seconds") >= 0
    for part in ("database", "redis", "worker", "beat"):
        assert value(parsed, "growth_up", part=part) == 1


def test_a_part_that_is_down_is_0_and_its_figures_absent(client: Client, settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    parsed = samples(scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode())
    assert value(parsed, "growth_up", part="redis") == 0
    assert value(parsed, "growth_up", part="worker") == 0
    assert value(parsed, "growth_up", part="database") == 1
    assert not [
        key for key in parsed if key[0] in ("growth_queue_depth", "growth_heartbeat_age_seconds")
    ]
    assert value(parsed, "growth_due_unsent", kind="deliveries") == 0  # the database still reads
