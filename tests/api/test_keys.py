"""API keys: shown once, stored hashed, scoped, revocable, expiring, last use throttled;
the admin pages that manage them."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from growth.api.keys import api_key_create, api_key_revoke
from growth.models import ApiKey, AuditEvent
from growth.roles import Role
from tests.api.conftest import bearer

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts/"


def test_a_key_is_stored_only_as_its_hash(make_key):
    plain = make_key({"contacts": "read"})
    key = ApiKey.objects.get()
    assert re.fullmatch(r"grw_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}", plain)
    assert plain.startswith(key.prefix + "_")
    assert key.secret_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in str(ApiKey.objects.values().get())
    assert key.scopes == {"contacts": "read"}


def test_creating_and_revoking_are_audited(admin):
    new = api_key_create(name="ERP", scopes={"orders": "read"}, created_by=admin)
    api_key_revoke(key=new.key, actor=admin)
    api_key_revoke(key=new.key, actor=admin)  # twice: one record
    actions = list(AuditEvent.objects.order_by("at").values_list("action", "actor", "target"))
    assert actions == [
        (AuditEvent.Action.API_KEY_CREATED, admin.pk, f"ERP ({new.key.prefix})"),
        (AuditEvent.Action.API_KEY_REVOKED, admin.pk, f"ERP ({new.key.prefix})"),
    ]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer grw_AAAAAAAA_" + "x" * 43,  # well formed, unknown
        "Bearer nonsense",
        "Bearer",
        "Bearer a b",
    ],
)
def test_an_unknown_key_is_a_401_with_a_clear_body(client, header, key):
    response = client.get(CONTACTS, headers={"Authorization": header})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "authentication_failed"
    assert "key" in error["message"].lower()
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_tampered_secret_is_refused(client, key):
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert client.get(CONTACTS, headers=bearer(tampered)).status_code == 401


def test_no_credentials_is_a_401(client, db):
    response = client.get(CONTACTS)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_revoked_key_is_refused_at_once(client, key, admin):
    assert client.get(CONTACTS, headers=bearer(key)).status_code == 200
    api_key_revoke(key=ApiKey.objects.get(), actor=admin)
    response = client.get(CONTACTS, headers=bearer(key))
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_an_expired_key_is_refused(client, make_key):
    key = make_key(expires_at=timezone.now() + timedelta(days=1))
    assert client.get(CONTACTS, headers=bearer(key)).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = client.get(CONTACTS, headers=bearer(key))
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_a_missing_scope_is_a_403_naming_it(client, make_key):
    key = make_key({"events": "read"})
    response = client.get(CONTACTS, headers=bearer(key))
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "permission_denied",
        "message": "This API key lacks the scope contacts:read.",
    }


def test_read_does_not_write_and_write_reads(client, make_key):
    reader, writer = make_key({"contacts": "read"}), make_key({"contacts": "write"})
    body = {"email": "new@example.com"}
    response = client.post(CONTACTS, body, content_type="application/json", headers=bearer(reader))
    assert response.status_code == 403
    assert "contacts:write" in response.json()["error"]["message"]
    assert client.get(CONTACTS, headers=bearer(writer)).status_code == 200
    response = client.post(CONTACTS, body, content_type="application/json", headers=bearer(writer))
    assert response.status_code == 201


def test_a_key_acts_by_its_scopes_not_its_creators_roles(client, user_with_role):
    rep = user_with_role(Role.REP)  # a rep cannot read every contact; its key can, if scoped
    key = api_key_create(name="k", scopes={"contacts": "read"}, created_by=rep).plain
    assert client.get(CONTACTS, headers=bearer(key)).status_code == 200


def test_last_used_is_written_at_most_once_a_minute(client, key):
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        client.get(CONTACTS, headers=bearer(key))
    assert ApiKey.objects.get().last_used_at == start
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        client.get(CONTACTS, headers=bearer(key))
    assert ApiKey.objects.get().last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        client.get(CONTACTS, headers=bearer(key))
    assert ApiKey.objects.get().last_used_at == start + timedelta(seconds=61)


def test_scopes_are_checked_when_a_key_is_made(admin):
    from django.core.exceptions import ValidationError

    for bad in ({}, {"contacts": "admin"}, {"nope": "read"}):
        with pytest.raises(ValidationError):
            api_key_create(name="k", scopes=bad, created_by=admin)
    assert ApiKey.objects.count() == 0


# --- The admin pages ---------------------------------------------------------------------------


def test_the_empty_list_says_what_a_key_is_for(client_as):
    page = client_as(Role.ADMIN).get(reverse("api_keys")).content.decode()
    assert 'data-testid="empty-state"' in page
    assert "REST API" in page and "Authorization: Bearer" in page


@pytest.mark.parametrize("role", [Role.MARKETER, Role.REP, Role.SALES_MANAGER, Role.MANAGER])
def test_only_admins_manage_keys(client_as, role, admin):
    client = client_as(role)
    new = api_key_create(name="k", scopes={"orders": "read"}, created_by=admin)
    for url in (
        reverse("api_keys"),
        reverse("api_key_create"),
        reverse("api_key_revoke", args=[new.key.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("api_key_revoke", args=[new.key.pk])).status_code == 403
    assert ApiKey.objects.get().revoked_at is None


def test_create_shows_the_key_once_then_lists_it_and_it_works(client_as):
    client = client_as(Role.ADMIN)
    form = client.get(reverse("api_key_create")).content.decode()
    assert 'data-testid="scope-grid"' in form and 'name="scope_contacts"' in form
    response = client.post(
        reverse("api_key_create"),
        {"name": "ERP sync", "scope_contacts": "write", "scope_orders": "read", "scope_events": ""},
    )
    key = ApiKey.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("api_key_created", args=[key.pk])
    page = client.get(response["Location"])
    plain = re.search(r'data-testid="api-key-plain">([^<]+)<', page.content.decode()).group(1)
    assert page["Cache-Control"] == "no-store"
    assert "data-copy" in page.content.decode()
    assert client.get(response["Location"]).status_code == 404  # shown once
    assert key.scopes == {"contacts": "write", "orders": "read"}
    assert key.created_by.has_perm("growth.manage_sources")
    listing = client.get(reverse("api_keys")).content.decode()
    assert "ERP sync" in listing and key.prefix in listing and plain not in listing
    assert "contacts:write" in listing and "never" in listing
    client.logout()
    assert client.get(CONTACTS, headers=bearer(plain)).status_code == 200


def test_create_form_errors(client_as):
    client = client_as(Role.ADMIN)
    response = client.post(reverse("api_key_create"), {"name": "x"})
    assert response.status_code == 400
    assert "at least one scope" in response.content.decode()
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = client.post(
        reverse("api_key_create"),
        {"name": "x", "scope_orders": "read", "expires_on": yesterday},
    )
    assert response.status_code == 400 and "after today" in response.content.decode()
    response = client.post(reverse("api_key_create"), {"name": "x", "scope_orders": "root"})
    assert response.status_code == 400
    assert ApiKey.objects.count() == 0


def test_revoke_asks_then_revokes(client_as, key):
    client = client_as(Role.ADMIN)
    pk = ApiKey.objects.get().pk
    page = client.get(reverse("api_key_revoke", args=[pk])).content.decode()
    assert 'data-testid="confirm-revoke"' in page
    assert ApiKey.objects.get().revoked_at is None
    response = client.post(reverse("api_key_revoke", args=[pk]))
    assert response.status_code == 302
    assert ApiKey.objects.get().revoked_at is not None
    listing = client.get(reverse("api_keys")).content.decode()
    assert "revoked" in listing
    assert AuditEvent.objects.filter(action=AuditEvent.Action.API_KEY_REVOKED).count() == 1


def test_the_admin_menu_has_api_keys(client_as):
    page = client_as(Role.ADMIN).get("/").content.decode()
    assert reverse("api_keys") in page
    page = client_as(Role.MARKETER).get("/").content.decode()
    assert reverse("api_keys") not in page
