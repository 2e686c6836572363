"""Lead scoring: score models, their rules, the ledger of points and each contact's totals.

The ledger (`ScoreEntry`) is the truth: one row per point award, so a score can always be
explained and rebuilt. `ContactScore` and `Contact.score` are derived from it by set-based
SQL in `leads.services.scoring`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MAX_POINTS = 1000
MAX_HALF_LIFE_DAYS = 3650


class ScoreModel(models.Model):
    """A named set of rules, e.g. one per product line. Exactly one is primary: its total is
    `Contact.score`, the number the MQL definition reads."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_primary = models.BooleanField(
        _("primary"),
        default=False,
        help_text=_("The primary model's score is the contact's score and drives the MQL stage."),
    )
    half_life_days = models.PositiveIntegerField(
        _("half-life (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_HALF_LIFE_DAYS)],
        help_text=_("Behaviour points are worth half as much after this many days."),
    )
    active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(default=1)  # optimistic lock for concurrent edits
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_primary"], condition=Q(is_primary=True), name="scoremodel_one_primary"
            ),
            models.CheckConstraint(
                condition=Q(is_primary=False) | Q(active=True), name="scoremodel_primary_active"
            ),
            models.CheckConstraint(
                condition=Q(half_life_days__gte=1), name="scoremodel_half_life_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ScoringRule(models.Model):
    """Points for something a contact did (behaviour) or is (fit).

    Behaviour: an event name plus property conditions, optionally at most `limit_points`
    points per calendar day / week / month (UTC). Fit: conditions over the contact's fields
    and properties. `conditions` is a list of {property, operator, value}, validated by
    `leads.services.scoring_conditions.conditions_clean`.
    """

    class Kind(models.TextChoices):
        BEHAVIOUR = "behaviour", _("Behaviour")
        FIT = "fit", _("Fit")

    class Period(models.TextChoices):
        DAY = "day", _("day")
        WEEK = "week", _("week")
        MONTH = "month", _("month")

    model = models.ForeignKey(
        ScoreModel, on_delete=models.CASCADE, related_name="rules", verbose_name=_("score model")
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.IntegerField(
        _("points"),
        validators=[MinValueValidator(-MAX_POINTS), MaxValueValidator(MAX_POINTS)],
        help_text=_("Negative points lower the score (unsubscribes, bounces, competitors)."),
    )
    event_name = models.CharField(_("event"), max_length=200, blank=True)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    limit_points = models.PositiveIntegerField(_("at most (points)"), null=True, blank=True)
    limit_period = models.CharField(
        _("per"), max_length=5, choices=Period.choices, blank=True, default=""
    )
    active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(default=1)  # optimistic lock for concurrent edits
    # The ledger does not reflect this definition yet; the next recompute rebuilds it.
    ledger_stale = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["model", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["model", "name"], name="scoringrule_unique_name"),
            models.CheckConstraint(condition=~Q(points=0), name="scoringrule_points_not_zero"),
            models.CheckConstraint(
                condition=Q(kind="fit") | ~Q(event_name=""), name="scoringrule_behaviour_event"
            ),
            models.CheckConstraint(
                condition=(Q(limit_points__isnull=True) & Q(limit_period=""))
                | (Q(limit_points__isnull=False, kind="behaviour") & ~Q(limit_period="")),
                name="scoringrule_limit_whole",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def cap(self) -> int | None:
        """How many awards fit in one period: the limit counts whole awards."""
        if self.limit_points is None:
            return None
        return self.limit_points // abs(self.points) if self.points else 0


class ScoreEntry(models.Model):
    """One award of points: a behaviour rule for an event, or a fit rule for a contact.

    The foreign keys carry no database constraint and no index of their own: the ledger is
    rebuilt in bulk (millions of rows), and per-row referential checks and four more indexes
    would cost more than the insert itself. The indexes below answer every lookup; rows
    follow their contact and rule when those are deleted through the ORM (a rule's model
    takes its rules along, an event's contact its entries).
    """

    contact = models.ForeignKey(
        "leads.Contact",
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    model = models.ForeignKey(
        ScoreModel,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    rule = models.ForeignKey(
        ScoringRule,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
        related_name="entries",
    )
    kind = models.CharField(max_length=10, choices=ScoringRule.Kind.choices)
    event = models.ForeignKey(
        "leads.Event",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    points = models.IntegerField()
    occurred_at = models.DateTimeField()  # the event's time; for fit, when it first matched
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Reprocessing an event never scores it twice.
            models.UniqueConstraint(
                fields=["rule", "event"],
                condition=Q(event__isnull=False),
                name="scoreentry_once_per_event",
            ),
            models.UniqueConstraint(
                fields=["contact", "rule"], condition=Q(kind="fit"), name="scoreentry_fit_once"
            ),
        ]
        indexes = [
            # A contact's ledger, and a rule's awards in one period (limits).
            models.Index(fields=["contact", "rule", "occurred_at"], name="scoreentry_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.rule_id}"


class ContactScore(models.Model):
    """A contact's score in one model as of `computed_at`: decayed behaviour plus fit.

    Derived from the ledger and rewritten in bulk, so, like the ledger, without database
    constraints or extra indexes on its keys (the unique pair answers every lookup)."""

    contact = models.ForeignKey(
        "leads.Contact",
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
        related_name="scores",
    )
    model = models.ForeignKey(
        ScoreModel, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    behaviour = models.FloatField(default=0)
    fit = models.IntegerField(default=0)
    total = models.FloatField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "model"], name="contactscore_unique")
        ]

    def __str__(self) -> str:
        return f"{self.total:.1f}"


class ScoreRecompute(models.Model):
    """A full recompute: rebuilds the ledger of changed rules, then every contact's totals,
    range by range, so a killed run resumes where its last committed range ended."""

    class Kind(models.TextChoices):
        RULES = "rules", _("rule change")
        NIGHTLY = "nightly", _("nightly decay")
        MANUAL = "manual", _("started by hand")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    class Phase(models.TextChoices):
        LEDGER = "ledger", _("rebuilding the ledger of changed rules")
        FIT = "fit", _("checking fit rules")
        STAGE = "stage", _("adding up behaviour points")
        APPLY = "apply", _("writing contact scores")
        DONE = "done", _("done")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.LEDGER)
    at = models.DateTimeField(null=True, blank=True)  # totals are computed as of this time
    rules = models.JSONField(default=dict, blank=True)  # {rule id: version} rebuilt by this run
    total = models.BigIntegerField(default=0)  # progress units (ids spanned)
    done = models.BigIntegerField(default=0)
    last_event_id = models.BigIntegerField(default=0)
    event_max_id = models.BigIntegerField(default=0)
    last_contact_id = models.BigIntegerField(default=0)
    contact_max_id = models.BigIntegerField(default=0)
    staged_rows = models.BigIntegerField(default=0)
    contacts_changed = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one waiting and one running: a second request joins the waiting one.
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status__in=["queued", "running"]),
                name="scorerecompute_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"recompute {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, int(100 * self.done / self.total))
