"""The audit log records sign-ins (and failures), sign-outs, new users and role changes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from growth import services
from growth.models import AuditEvent, User
from growth.roles import Role

pytestmark = pytest.mark.django_db


def actions() -> list[tuple[str, str, str]]:
    return [(e.action, e.actor_label, e.target) for e in AuditEvent.objects.order_by("pk")]


def test_sign_in_failure_and_sign_out_are_recorded_with_the_address(client, user_with_role) -> None:  # type: ignore[no-untyped-def]
    user = user_with_role(Role.MARKETER, username="mia")
    user.set_password("right-horse-battery")
    user.save()

    client.post(reverse("login"), {"username": "mia", "password": "wrong"})
    client.post(reverse("login"), {"username": "mia", "password": "right-horse-battery"})
    client.post(reverse("logout"))

    assert actions() == [
        ("sign_in_failed", "mia", "mia"),
        ("sign_in", "mia", ""),
        ("sign_out", "mia", ""),
    ]
    failed = AuditEvent.objects.get(action="sign_in_failed")
    assert failed.ip == "127.0.0.1"
    assert failed.actor is None
    assert "wrong" not in str(failed.detail)


def test_a_new_user_and_a_role_change_name_who_did_it(user_with_role) -> None:  # type: ignore[no-untyped-def]
    admin = user_with_role(Role.ADMIN, username="ada")
    rep = services.user_create(
        username="rob", password="x-long-password-1", roles=[Role.REP], actor=admin
    )
    services.user_update(
        user=rep, actor=admin, roles=[Role.REP, Role.SALES_MANAGER], is_active=True,
        email="", first_name="", last_name="",
    )  # fmt: skip
    services.user_update(
        user=rep,
        actor=admin,
        roles=[Role.REP, Role.SALES_MANAGER],
        is_active=True,
        email="rob@example.com",
        first_name="",
        last_name="",
    )  # fmt: skip  (same roles: nothing to record)

    created, changed = AuditEvent.objects.order_by("pk")
    assert (created.action, created.actor, created.target) == ("user_created", admin, "rob")
    assert created.detail == {"roles": ["rep"]}
    assert (changed.action, changed.actor, changed.target) == ("roles_changed", admin, "rob")
    assert changed.detail == {"added": ["sales_manager"], "removed": []}
    assert User.objects.get(username="rob").groups.count() == 2
