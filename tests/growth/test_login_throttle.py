"""Sign-in throttling: five failures for a name from one address lock that name there (429,
a clear message, Retry-After), other addresses are not affected, a success clears the
count, a flood from one address over many names is stopped too, and the answers never say
whether the user exists."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from growth.models import AuditEvent
from growth.roles import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/login/"


def masked(body: str) -> str:
    """The page without its CSRF tokens (different on every answer)."""
    return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', r"\1…", body)


def attempt(client: Client, username: str, password: str, ip: str = "203.0.113.5"):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_the_sixth_failure_is_refused_with_429_and_a_clear_message(client, user_with_role):  # type: ignore[no-untyped-def]
    user = user_with_role(Role.MARKETER, username="mia")
    for _ in range(5):
        response = attempt(client, "mia", "wrong")
        assert response.status_code == 200
        assert 'data-testid="login-error"' in response.content.decode()

    response = attempt(client, "mia", PASSWORD)  # even the right password: not checked now
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed sign-ins; try again in 15 minutes." in body
    assert 'data-testid="login-error"' not in body
    assert 'value="mia"' in body  # the name typed stays in the form
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert "_auth_user_id" not in client.session
    # Five failures on record; the locked attempts check no password, so add none.
    assert AuditEvent.objects.filter(action="sign_in_failed").count() == 5
    user.refresh_from_db()
    assert user.last_login is None


def test_another_address_and_another_name_are_not_affected(client, user_with_role):  # type: ignore[no-untyped-def]
    user_with_role(Role.MARKETER, username="mia")
    user_with_role(Role.MARKETER, username="max")
    for _ in range(5):
        attempt(client, "mia", "wrong")
    assert attempt(client, "mia", "wrong").status_code == 429
    assert attempt(client, "MIA ", "wrong").status_code == 429  # the name as Django reads it

    # The same name from another address signs in.
    response = attempt(client, "mia", PASSWORD, ip="198.51.100.7")
    assert response.status_code == 302
    client.post(reverse("logout"))
    # Another name from the locked address too.
    assert attempt(client, "max", PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_the_names_failures(client, user_with_role):  # type: ignore[no-untyped-def]
    user_with_role(Role.MARKETER, username="mia")
    for _ in range(4):
        attempt(client, "mia", "wrong")
    assert attempt(client, "mia", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):  # four more would have made nine: none is refused
        assert attempt(client, "mia", "wrong").status_code == 200
    assert attempt(client, "mia", PASSWORD).status_code == 302


def test_an_unknown_name_is_answered_exactly_like_a_known_one(client, user_with_role):  # type: ignore[no-untyped-def]
    user_with_role(Role.MARKETER, username="mia")
    answers = {}
    for name in ("mia", "nobody"):
        failed = attempt(client, name, "wrong")
        for _ in range(4):
            attempt(client, name, "wrong")
        locked = attempt(client, name, "wrong")
        answers[name] = [
            (r.status_code, masked(r.content.decode()).replace(name, "NAME"))
            for r in (failed, locked)
        ]
    assert answers["mia"] == answers["nobody"]
    assert [status for status, _body in answers["mia"]] == [200, 429]


def test_one_address_guessing_many_names_is_stopped(client, settings):  # type: ignore[no-untyped-def]
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 8
    for n in range(8):
        assert attempt(client, f"guess{n}", "wrong").status_code == 200
    response = attempt(client, "guess-new", "wrong")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert attempt(client, "guess-new", "wrong", ip="198.51.100.7").status_code == 200


def test_the_minutes_shown_count_down_with_the_window(client, user_with_role):  # type: ignore[no-untyped-def]
    user_with_role(Role.MARKETER, username="mia")
    for _ in range(5):
        attempt(client, "mia", "wrong")
    # Redis expires the counters at the end of the window; the message counts down to it.
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11, seconds=5)):
        response = attempt(client, "mia", "wrong")
    assert response.status_code == 429
    assert "try again in 4 minutes" in response.content.decode()
    assert int(response["Retry-After"]) <= 4 * 60


def test_sign_in_still_works_when_redis_is_down(client, user_with_role, settings):  # type: ignore[no-untyped-def]
    user_with_role(Role.MARKETER, username="mia")
    settings.CACHES = {  # nothing listens on port 1: every cache call fails at once
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    from django.core.cache import cache
    from redis.exceptions import ConnectionError as RedisDown

    with pytest.raises(RedisDown):
        cache.get("probe")
    assert attempt(client, "mia", "wrong").status_code == 200  # counted nowhere, but no 500
    assert attempt(client, "mia", PASSWORD).status_code == 302
