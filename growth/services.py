"""Writes of the project package: users and their roles."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from growth import audit
from growth.models import AuditEvent, User
from growth.roles import Role


def _set_roles(user: User, roles: Iterable[Role | str]) -> None:
    names = {Role(role).value for role in roles}
    user.groups.set(Group.objects.filter(name__in=names))


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    roles: Iterable[Role | str],
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    actor: User | None = None,
) -> User:
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    _set_roles(user, roles)
    audit.record(
        AuditEvent.Action.USER_CREATED,
        actor=actor,
        actor_label="" if actor else "system",
        target=user.username,
        roles=sorted(Role(role).value for role in roles),
    )
    return user


@transaction.atomic
def user_update(
    *,
    user: User,
    actor: User,
    roles: Iterable[Role | str],
    is_active: bool,
    email: str,
    first_name: str,
    last_name: str,
) -> User:
    """Change a user's details, roles and whether they may sign in.

    An admin cannot lock themselves out: they keep their own admin role and stay active.
    """
    roles = [Role(role) for role in roles]
    if user.pk == actor.pk:
        if not is_active:
            raise ValidationError(_("You cannot deactivate yourself."))
        if Role.ADMIN not in roles and not user.is_superuser:
            raise ValidationError(_("You cannot take the admin role from yourself."))
    user.email, user.first_name, user.last_name = email, first_name, last_name
    user.is_active = is_active
    user.full_clean(exclude=["password"])
    user.save(update_fields=["email", "first_name", "last_name", "is_active"])
    before = set(user.groups.values_list("name", flat=True))
    _set_roles(user, roles)
    after = {Role(role).value for role in roles}
    if before != after:
        audit.record(
            AuditEvent.Action.ROLES_CHANGED,
            actor=actor,
            target=user.username,
            removed=sorted(before - after),
            added=sorted(after - before),
        )
    return user


def roles_sync() -> None:
    """Make the role groups match `ROLE_CAPABILITIES` (idempotent).

    The data migration creates them once; this restores them wherever tables were emptied
    (a flushed test database, a restored dump without auth data).
    """
    from django.contrib.auth.models import Permission

    from growth.roles import ROLE_CAPABILITIES

    for role, capabilities in ROLE_CAPABILITIES.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="growth", codename__in=[c.value for c in capabilities]
            )
        )
