"""Bad input and faults: every answer is a 4xx (or 503) with the one error body."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from leads.models import Contact
from tests.api.conftest import bearer
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts/"


def post(client, url, body, key, content_type="application/json"):  # type: ignore[no-untyped-def]
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data, content_type=content_type, headers=bearer(key))


def error_of(response):  # type: ignore[no-untyped-def]
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "fields"}
    assert body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ('{"email": "a@example.com",', "parse_error", "not valid JSON"),
        ("[1, 2]", "invalid", "dictionary"),
        ('"just a string"', "invalid", "dictionary"),
        ("", "invalid", "e-mail or a phone"),
    ],
)
def test_malformed_bodies(client, key, body, code, words):
    response = post(client, CONTACTS, body, key)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code
    assert words in json.dumps(error)
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": 12}, "email"),
        ({"email": "not an address"}, "email"),
        ({"email": ["a@example.com"]}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"email": "a@example.com", "country": "USA"}, "country"),
        ({"email": "a@example.com", "first_name": "x" * 151}, "first_name"),
        ({"email": "a@example.com", "score": 99}, "score"),  # not settable
    ],
)
def test_wrong_types_name_the_field(client, key, body, field):
    response = post(client, CONTACTS, body, key)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid" and field in error["fields"]
    assert Contact.objects.count() == 0


def test_an_oversized_body_is_a_413_before_it_is_read(client, key, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = post(client, CONTACTS, {"email": "a@example.com", "company": "x" * 2000}, key)
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert Contact.objects.count() == 0


def test_a_body_that_is_not_json_is_a_415(client, key):
    response = post(
        client, CONTACTS, "email=a@example.com", key, "application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_a_wrong_method_is_a_405(client, key):
    response = client.delete(CONTACTS, headers=bearer(key))
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert (
        client.post(
            "/api/v1/events/", "{}", content_type="application/json", headers=bearer(key)
        ).status_code
        == 405
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"stage": "king"}, "stage"),
        ({"score_min": "high"}, "score_min"),
        ({"score_min": "5", "score_max": "1"}, "score_max"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"colour": "red"}, "colour"),  # unknown filters are refused, not ignored
        ({"cursor": "garbage"}, "cursor"),
    ],
)
def test_bad_filters_are_a_400_naming_them(client, key, params, field):
    response = client.get(CONTACTS, params, headers=bearer(key))
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_unknown_routes_and_objects_are_json_404s(client, key):
    response = client.get("/api/v1/nothing-here/", headers=bearer(key))
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    response = client.get(f"{CONTACTS}999999/", headers=bearer(key))
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_update_refuses_fields_it_may_not_change(client, key):
    contact = ContactFactory(email="a@example.com")
    response = client.patch(
        f"{CONTACTS}{contact.pk}/",
        json.dumps({"first_name": "Ann", "email": "b@example.com", "lifecycle_stage": "vip"}),
        content_type="application/json",
        headers=bearer(key),
    )
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"email", "lifecycle_stage"}
    contact.refresh_from_db()
    assert contact.email == "a@example.com" and contact.first_name != "Ann"


DB_DOWN = textwrap.dedent(
    """
    import json, os
    import django
    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment
    setup_test_environment()
    client = Client(raise_request_exception=False)
    key = client.get("/api/v1/contacts/", headers={"Authorization": "Bearer grw_AAAAAAAA_xyz"})
    client.cookies["sessionid"] = "s" * 32  # a browser session: read in a middleware
    session = client.get("/api/v1/orders/")
    print(json.dumps([[r.status_code, r["Content-Type"], r.json(), r.get("Retry-After")]
                      for r in (key, session)]))
    """
)


def test_database_down_is_a_503_with_the_error_body():
    """A real failure: a separate process whose database is a closed port."""
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed.getsockname()[1]}/nowhere",
            "DJANGO_SETTINGS_MODULE": "growth.settings",
            "SECRET_KEY": "db-down-test",
            "DEBUG": "0",
            "STATIC_MANIFEST": "0",
        }
        done = subprocess.run(
            [sys.executable, "-c", DB_DOWN], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    for status, content_type, body, retry_after in answers:
        assert status == 503
        assert content_type == "application/json"
        assert body["error"]["code"] == "unavailable"
        assert "database" in body["error"]["message"]
        assert retry_after == "30"
