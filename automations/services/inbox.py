"""Team tasks: the in-app inbox channel. Journeys, surveys and people create them; the user
they are for, or anyone with the role they are for, completes them.

`task_create` is idempotent per key (like `delivery_schedule`): a retried journey step, a
doubled beat or a survey answered twice asks only once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from automations.models import TeamTask
from growth.roles import Role
from leads.models import Contact


def user_roles(user: Any) -> list[str]:
    """The role values of a user (a role is a group named after it)."""
    if not getattr(user, "is_authenticated", False):
        return []
    names = {group.name for group in user.groups.all()}
    return [role.value for role in Role if role.value in names]


def task_visible_q(user: Any, roles: list[str] | None = None) -> Q:
    """The tasks a user may see and complete: assigned to them, or to one of their roles.
    Nothing for a visitor who is not signed in (its pk is None, which would match every
    task without an assignee)."""
    if not getattr(user, "is_authenticated", False) or user.pk is None:
        return Q(pk__in=[])
    roles = user_roles(user) if roles is None else roles
    visible = Q(assignee_id=user.pk)
    if roles:
        visible |= Q(role__in=roles)
    return visible


def task_create(
    *,
    key: str,
    title: str,
    body: str = "",
    contact: Contact | None = None,
    user: Any = None,
    role: str = "",
    origin: str = "",
    due_at: datetime | None = None,
) -> TeamTask:
    """The task for `key`: created once; a second call with the same key returns the first
    task unchanged (whatever the other arguments say)."""
    key = key.strip()
    existing = TeamTask.objects.filter(key=key).first()
    if existing is not None:
        return existing
    role = str(role or "")
    errors: dict[str, str] = {}
    if not key:
        errors["key"] = _("A task needs a key.")
    if not title.strip():
        errors["title"] = _("A task needs a title.")
    if role and role not in Role.values:
        errors["role"] = _("No such role: %(role)s.") % {"role": role}
    if user is None and not role:
        errors["assignee"] = _("A task needs a user or a role to do it.")
    if errors:
        raise ValidationError(errors)
    task = TeamTask(
        key=key,
        title=title.strip()[:200],
        body=body,
        contact=contact,
        assignee=user,
        role=role,
        origin=origin[:40],
        due_at=due_at,
    )
    # ON CONFLICT DO NOTHING: of two concurrent creates of one key, one row survives.
    TeamTask.objects.bulk_create([task], ignore_conflicts=True)
    return TeamTask.objects.get(key=key)


def task_complete(*, task: TeamTask, actor: Any) -> TeamTask:
    """Mark the task done by `actor` (None: by the system). Completing a done task again
    changes nothing, so two people (or two clicks) finishing it at once record the first.
    A user may only complete tasks they can see (assigned to them or their roles)."""
    with transaction.atomic():
        scope = TeamTask.objects.select_for_update().filter(pk=task.pk)
        if actor is not None:
            scope = scope.filter(task_visible_q(actor))
        row = scope.first()
        if row is None:
            raise PermissionDenied(_("This task is not yours to complete."))
        if row.status != TeamTask.Status.DONE:
            row.status = TeamTask.Status.DONE
            row.done_at = timezone.now()
            row.done_by = actor
            row.save(update_fields=["status", "done_at", "done_by"])
    return row


def tasks_move_contact(*, survivor_id: int, merged_id: int) -> int:
    """After a merge (`leads.signals.contacts_merged`): the merged contact's tasks belong to
    the survivor. Returns how many moved."""
    return TeamTask.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
