"""Team tasks: the in-app inbox channel. A journey, a survey or a person asks a user, or
everyone with a role, to do something about a contact ("call this detractor")."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from growth.roles import Role


class TeamTask(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        DONE = "done", _("done")

    # Who asked for it and for what ("survey-answer:12:detractor", "run:9:node-4"): the same
    # key is the same task, so a retried journey step or a doubled click asks only once.
    key = models.CharField(max_length=200, unique=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    contact = models.ForeignKey(
        "leads.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="team_tasks",
        verbose_name=_("contact"),
    )
    # A task goes to a person, to everyone with a role (the first to act completes it for
    # all), or to both.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="team_tasks",
        verbose_name=_("assigned to"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    origin = models.CharField(_("origin"), max_length=40, blank=True)  # "journey", "survey", …
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    # None when done by the system (e.g. the detractor changed the answer to a promoter's).
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(assignee__isnull=False) | ~Q(role=""), name="teamtask_has_assignee"
            ),
            models.CheckConstraint(
                condition=Q(status="open", done_at__isnull=True)
                | Q(status="done", done_at__isnull=False),
                name="teamtask_done_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "-created_at"], name="teamtask_assignee"),
            models.Index(
                fields=["role", "status", "-created_at"],
                name="teamtask_role",
                condition=~Q(role=""),
            ),
            models.Index(fields=["contact", "-created_at"], name="teamtask_contact"),
        ]

    def __str__(self) -> str:
        return self.title
