"""Trigger journeys: a graph a marketer draws, published as immutable versions, and one run
per contact that enters it. Runs wait as rows with a due_at (never sleeping tasks)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Journey(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")  # never published
        ACTIVE = "active", _("active")
        PAUSED = "paused", _("paused")  # no new entries; running contacts wait
        ARCHIVED = "archived", _("archived")

    class Reentry(models.TextChoices):
        ONCE = "once", _("once ever")
        PER_DAYS = "per_days", _("once per N days")
        ALWAYS = "always", _("every time")

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    # What the marketer is editing; publishing copies it into a JourneyVersion.
    draft = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)  # optimistic lock of the draft
    reentry = models.CharField(
        _("contacts may enter"), max_length=10, choices=Reentry.choices, default=Reentry.ONCE
    )
    reentry_days = models.PositiveIntegerField(_("days between entries"), null=True, blank=True)
    # Only contacts in this segment enter (the journey-level audience filter).
    audience = models.ForeignKey(
        "leads.Segment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("audience"),
    )
    live = models.ForeignKey(
        "automations.JourneyVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    shipped_key = models.CharField(max_length=40, blank=True)  # "abandoned_cart", … when shipped
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class JourneyVersion(models.Model):
    """A published graph, never changed afterwards: running contacts stay on theirs."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    # The trigger, copied out of the graph so matching an event is an indexed lookup.
    trigger_kind = models.CharField(max_length=20)
    trigger_event = models.CharField(max_length=200, blank=True)
    trigger_segment = models.ForeignKey(
        "leads.Segment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trigger_stage = models.CharField(max_length=20, blank=True)
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "number"], name="journeyversion_number")
        ]
        indexes = [
            models.Index(fields=["trigger_kind", "trigger_event"], name="journeyversion_trigger")
        ]

    def __str__(self) -> str:
        return f"{self.journey_id} v{self.number}"


class JourneyRun(models.Model):
    """One contact's way through one version of a journey."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting")  # for due_at (or an event, until due_at)
        QUEUED = "queued", _("queued")  # claimed by the dispatcher
        DONE = "done", _("finished")  # reached an exit or the end of a path
        CONVERTED = "converted", _("reached the goal")
        EXITED = "exited", _("left")  # stopped by hand, journey archived, or dropped
        FAILED = "failed", _("failed")

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT, related_name="runs")
    contact = models.ForeignKey("leads.Contact", on_delete=models.CASCADE, related_name="+")
    # What started it (event id, "segment:12:2025-06-01", …): one run per entry, however
    # often the trigger is delivered.
    entry_key = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    node = models.CharField(max_length=40)  # the node to process at due_at
    due_at = models.DateTimeField()
    waiting_for = models.CharField(max_length=200, blank=True)  # an event name (wait-for-event)
    steps = models.PositiveIntegerField(default=0)  # a guard against loops in a graph
    # What earlier steps gave this run for later ones (the discount code it was issued).
    data = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "contact", "entry_key"], name="journeyrun_one_per_entry"
            ),
            # One run of a journey at a time per contact: a second entry while one is under
            # way is skipped, even when two workers enter the contact at once.
            models.UniqueConstraint(
                fields=["contact", "journey"],
                name="journeyrun_one_active",
                condition=Q(status__in=["waiting", "queued"]),
            ),
        ]
        indexes = [
            models.Index(fields=["due_at"], name="journeyrun_due", condition=Q(status="waiting")),
            models.Index(fields=["journey", "-started_at"], name="journeyrun_journey"),
            models.Index(fields=["started_at"], name="journeyrun_started"),  # dashboards
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.journey_id} for {self.contact_id}"


class RunStep(models.Model):
    """What a run did at one node: the journey's results per node are counted from these."""

    class Outcome(models.TextChoices):
        PASSED = "passed", _("passed")
        WAITING = "waiting", _("waiting")
        DROPPED = "dropped", _("dropped")  # e.g. no consent for the message, left the audience
        FAILED = "failed", _("failed")

    run = models.ForeignKey(JourneyRun, on_delete=models.CASCADE, related_name="log")
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(JourneyVersion, on_delete=models.CASCADE, related_name="+")
    node = models.CharField(max_length=40)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    branch = models.CharField(max_length=40, blank=True)  # the edge taken ("yes", "b", …)
    detail = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["version", "node", "outcome"], name="runstep_node"),
            models.Index(fields=["run", "at"], name="runstep_run"),
        ]

    def __str__(self) -> str:
        return f"{self.node}: {self.outcome}"
