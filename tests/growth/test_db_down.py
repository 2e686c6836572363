"""The web UI when the database is down: a 503 page that says so, with Retry-After, and
/healthz still answering its own JSON 503."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse
from prometheus_client.parser import text_string_to_metric_families

from growth.roles import Role

PAGE_TEXT = "The database is unreachable"


@contextmanager
def unreachable_database() -> Iterator[None]:
    """Point the default connection at a port that refuses connections (bound, never
    listening), with a fresh connection; put everything back afterwards."""
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        connection.close()
        connection.settings_dict.update(
            HOST="127.0.0.1", PORT=str(closed.getsockname()[1]), OPTIONS={"connect_timeout": 2}
        )
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)


def assert_the_503_page(response: Any) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert PAGE_TEXT in body and "Try again in 30 seconds" in body


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url_name", ["home", "system", "users"])
def test_a_signed_in_page_answers_503_when_the_database_is_unreachable(
    user_with_role: Any, url_name: str
) -> None:
    client = Client(raise_request_exception=False)  # as in production: no re-raise
    client.force_login(user_with_role(Role.ADMIN))
    with unreachable_database():
        response = client.get(reverse(url_name))
    assert_the_503_page(response)
    # The database is back: the same page works again.
    assert client.get(reverse(url_name)).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_sign_in_form_post_answers_503(user_with_role: Any) -> None:
    user_with_role(Role.ADMIN, username="ada")
    client = Client(raise_request_exception=False)
    with unreachable_database():
        response = client.post(reverse("login"), {"username": "ada", "password": "x"})
    assert_the_503_page(response)


@pytest.mark.django_db(transaction=True)
def test_healthz_keeps_its_own_json_503() -> None:
    client = Client(raise_request_exception=False)
    with unreachable_database():
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert "database" in body["down"] and not body["database"]["ok"]


@pytest.mark.django_db(transaction=True)
def test_metrics_still_answer_with_the_database_down(settings: Any) -> None:
    settings.METRICS_TOKEN = "db-down-token"
    client = Client(raise_request_exception=False)
    with unreachable_database():
        response = client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer db-down-token")
    assert response.status_code == 200
    samples = {
        (s.name, tuple(s.labels.values())): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }
    assert samples[("growth_up", ("database",))] == 0
    assert samples[("growth_up", ("redis",))] == 1
    # The database's figures are unknown: left out, not reported as 0.
    assert not [key for key in samples if key[0] in ("growth_due_unsent", "growth_dead_letters")]


# --- Other errors stay what they are --------------------------------------------------------


def _database_error(request: HttpRequest) -> HttpResponse:
    raise OperationalError("connection refused")


def _bug(request: HttpRequest) -> HttpResponse:
    raise ValueError("a bug, not the database")


urlpatterns = [path("db-error/", _database_error), path("bug/", _bug)]


@pytest.mark.urls(__name__)
def test_a_database_error_in_a_view_is_the_503_page() -> None:
    assert_the_503_page(Client(raise_request_exception=False).get("/db-error/"))


@pytest.mark.urls(__name__)
def test_any_other_error_stays_a_500() -> None:
    response = Client(raise_request_exception=False).get("/bug/")
    assert response.status_code == 500
    assert PAGE_TEXT not in response.content.decode()
