"""Tables of cadences: the sales team, cadences and their versions, enrollments (the rep
queue is a query over them), touches, skips and the SLA.

A cadence is edited as a draft and published as an immutable version; an enrollment points
at the version it started on, so editing a cadence never moves leads already on it. An
enrollment's current step is a row-level pointer (`step`, `due_at`): timed work is rows,
and the queue and the automatic-step dispatcher are queries over them (SKIP LOCKED).
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

WEEKDAYS = [0, 1, 2, 3, 4]  # Monday to Friday


class StepKind(models.TextChoices):
    CALL = "call", _("Call (leave a voicemail)")
    GHOST_CALL = "ghost_call", _("Ghost call (no voicemail)")
    EMAIL_MANUAL = "email_manual", _("Manual e-mail")
    EMAIL_AUTO = "email_auto", _("Automatic e-mail")
    SMS_MANUAL = "sms_manual", _("Manual SMS")
    SMS_AUTO = "sms_auto", _("Automatic SMS")
    LINKEDIN_CONNECT = "linkedin_connect", _("LinkedIn connection request")
    LINKEDIN_INMAIL = "linkedin_inmail", _("LinkedIn InMail")
    SOCIAL = "social", _("Other social touch")


AUTOMATIC_KINDS = frozenset({StepKind.EMAIL_AUTO, StepKind.SMS_AUTO})


class Team(models.Model):
    """A sales team: its time zone and business hours frame the SLA."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    opens = models.TimeField(_("business hours from"), default=time(9))
    closes = models.TimeField(_("business hours until"), default=time(18))
    days = models.JSONField(_("business days"), default=list)  # 0 = Monday; empty: Mon-Fri

    def __str__(self) -> str:
        return self.name

    @property
    def business_days(self) -> list[int]:
        return list(self.days) or WEEKDAYS


class Rep(models.Model):
    """A user who works the queue: team, territory, hours, and how many leads it can hold."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    territory = models.JSONField(_("territory (country codes)"), default=list, blank=True)
    works_from = models.TimeField(_("works from"), default=time(9))
    works_until = models.TimeField(_("works until"), default=time(18))
    work_days = models.JSONField(_("work days"), default=list, blank=True)  # empty: Mon-Fri
    capacity = models.PositiveIntegerField(_("most active leads"), default=200)
    away = models.BooleanField(_("away (gets no new leads)"), default=False)
    last_assigned_at = models.DateTimeField(null=True, blank=True)  # round-robin order

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class Cadence(models.Model):
    """A named sequence of touches. Which new MQLs it takes is its rules; reps are assigned
    by its assignment mode. Several active cadences with the same rules and rank split the
    leads by weight (an A/B test)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        ACTIVE = "active", _("active")
        PAUSED = "paused", _("paused")
        ARCHIVED = "archived", _("archived")

    class Assignment(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round-robin among reps")
        TERRITORY = "territory", _("By territory (the contact's country)")
        POOL = "pool", _("Shared pool (first rep free takes it)")

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Which MQLs: the first active cadence (lowest rank) whose rules match takes the lead.
    rank = models.PositiveSmallIntegerField(_("rank"), default=100)
    weight = models.PositiveSmallIntegerField(_("A/B weight"), default=100)
    rules = models.JSONField(_("rules"), default=dict, blank=True)
    assignment = models.CharField(
        _("assignment"), max_length=12, choices=Assignment.choices, default=Assignment.ROUND_ROBIN
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    draft_steps = models.JSONField(default=list, blank=True)  # edited; published as a version
    live = models.ForeignKey(
        "CadenceVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)  # optimistic lock for the editor

    class Meta:
        ordering = ["rank", "name"]

    def __str__(self) -> str:
        return self.name


class CadenceVersion(models.Model):
    """An immutable, published set of steps."""

    cadence = models.ForeignKey(Cadence, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cadence", "number"], name="cadenceversion_once")
        ]

    def __str__(self) -> str:
        return f"{self.cadence} v{self.number}"


class Step(models.Model):
    """One touch of a version: on day `day` (0 = the day the lead enters) inside the window
    of the contact's day, of `kind`, with a template (automatic and manual e-mail / SMS) or a
    script (calls) and instructions for the rep."""

    version = models.ForeignKey(CadenceVersion, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()  # 1, 2, …
    day = models.PositiveSmallIntegerField(_("day"))
    window_from = models.TimeField(_("from"), default=time(9))
    window_until = models.TimeField(_("until"), default=time(18))
    kind = models.CharField(_("touch"), max_length=20, choices=StepKind.choices)
    template = models.ForeignKey(
        "automations.MessageTemplate", null=True, blank=True, on_delete=models.PROTECT
    )
    script = models.TextField(_("script"), blank=True)
    instructions = models.TextField(_("instructions"), blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["version", "position"], name="step_once")]

    def __str__(self) -> str:
        return f"{self.position}. day {self.day}: {self.get_kind_display()}"

    @property
    def automatic(self) -> bool:
        return self.kind in AUTOMATIC_KINDS


class Enrollment(models.Model):
    """A contact on a cadence. `step` is the next step's position and `due_at` when it is
    due; `kind` caches that step's kind so the queue (manual steps) and the dispatcher
    (automatic steps) are each one indexed query."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        PAUSED = "paused", _("paused")
        ENDED = "ended", _("ended")

    class Outcome(models.TextChoices):
        REPLIED = "replied", _("replied")
        ORDERED = "ordered", _("ordered")
        QUALIFIED = "qualified", _("SQL / meeting booked")
        UNSUBSCRIBED = "unsubscribed", _("unsubscribed")
        BOUNCED = "bounced", _("hard bounce")
        WRONG_NUMBER = "wrong_number", _("wrong number")
        NOT_INTERESTED = "not_interested", _("not interested")
        BAD_LEAD = "bad_lead", _("bad lead")
        STOPPED = "stopped", _("stopped by hand")
        FINISHED = "finished", _("last step done")

    contact = models.ForeignKey(
        "leads.Contact", on_delete=models.CASCADE, related_name="enrollments"
    )
    cadence = models.ForeignKey(Cadence, on_delete=models.PROTECT, related_name="enrollments")
    version = models.ForeignKey(CadenceVersion, on_delete=models.PROTECT, related_name="+")
    rep = models.ForeignKey(
        Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="enrollments"
    )  # None: in the shared pool
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    step = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(max_length=20, choices=StepKind.choices, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    score = models.IntegerField(default=0)  # the contact's primary score, for the queue order
    qualified_at = models.DateTimeField()  # became MQL (speed to lead counts from here)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_reminded_at = models.DateTimeField(null=True, blank=True)
    sla_missed_at = models.DateTimeField(null=True, blank=True)
    # Whose SLA it was: the rep who made the first touch in time, or who held the lead when
    # the deadline passed (a reassignment after a miss does not move the miss).
    sla_rep = models.ForeignKey(
        Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    skips = models.PositiveSmallIntegerField(default=0)
    # The queue's lease: a rep shown this lead holds it until then.
    leased_to = models.ForeignKey(
        Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_note = models.CharField(max_length=300, blank=True)
    key = models.CharField(max_length=120, unique=True)  # one enrollment per qualification

    class Meta:
        indexes = [
            # The queue: a rep's (or the pool's) manual steps that are due.
            models.Index(
                fields=["rep", "due_at"],
                name="enrollment_queue",
                condition=Q(status="active") & ~Q(kind__in=sorted(AUTOMATIC_KINDS)),
            ),
            # The dispatcher: automatic steps that are due.
            models.Index(
                fields=["due_at"],
                name="enrollment_auto_due",
                condition=Q(status="active", kind__in=sorted(AUTOMATIC_KINDS)),
            ),
            models.Index(
                fields=["sla_due_at"],
                name="enrollment_sla_open",
                condition=Q(status="active", first_touch_at__isnull=True),
            ),
            models.Index(fields=["contact", "-started_at"], name="enrollment_contact"),
            # Dashboards and the team board: enrollments by when they qualified / started.
            models.Index(fields=["qualified_at"], name="enrollment_qualified"),
            models.Index(fields=["started_at"], name="enrollment_started"),
        ]
        constraints = [
            # One active (or paused) enrollment per contact.
            models.UniqueConstraint(
                fields=["contact"],
                name="enrollment_one_open",
                condition=Q(status__in=["active", "paused"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} on {self.cadence_id}"


class Touch(models.Model):
    """One thing done to reach a lead: a rep's call, e-mail, SMS or social touch with its
    disposition, or an automatic step's message."""

    class Disposition(models.TextChoices):
        CONNECTED = "connected", _("connected")
        VOICEMAIL = "voicemail", _("left voicemail")
        NO_ANSWER = "no_answer", _("no answer")
        WRONG_NUMBER = "wrong_number", _("wrong number")
        NOT_INTERESTED = "not_interested", _("not interested")
        MEETING = "meeting", _("meeting booked / qualified")
        BAD_LEAD = "bad_lead", _("bad lead")
        SENT = "sent", _("sent")  # e-mail, SMS, social: done
        AUTOMATIC = "automatic", _("sent automatically")

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="touches")
    contact = models.ForeignKey("leads.Contact", on_delete=models.CASCADE, related_name="+")
    rep = models.ForeignKey(Rep, null=True, blank=True, on_delete=models.SET_NULL)
    step = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    disposition = models.CharField(max_length=16, choices=Disposition.choices)
    notes = models.TextField(blank=True)
    delivery = models.ForeignKey(
        "automations.Delivery", null=True, blank=True, on_delete=models.SET_NULL
    )
    at = models.DateTimeField(default=timezone.now)
    key = models.CharField(max_length=120, unique=True)  # a double submit records one touch

    class Meta:
        indexes = [
            models.Index(fields=["contact", "-at"], name="touch_contact"),
            models.Index(fields=["rep", "-at"], name="touch_rep"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_disposition_display()}"


class Skip(models.Model):
    """A rep passed on a lead, with why: counted and shown to the manager."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="+")
    rep = models.ForeignKey(Rep, on_delete=models.CASCADE, related_name="skips")
    reason = models.CharField(_("reason"), max_length=200)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.reason


class SlaPolicy(models.Model):
    """One row: first touch within `first_touch_minutes` of qualification, counted in the
    team's business hours; the rep is reminded `remind_before` minutes ahead; a missed SLA
    alerts the managers and, when `reassign`, hands the lead to another rep. Also the queue's
    priority rules, which the sales manager adjusts."""

    class ThenBy(models.TextChoices):
        OVERDUE = "overdue", _("the most overdue step first, then the highest score")
        SCORE = "score", _("the highest score first, then the most overdue step")

    first_touch_minutes = models.PositiveIntegerField(default=30)
    remind_before_minutes = models.PositiveIntegerField(default=10)
    reassign = models.BooleanField(default=True)
    lease_minutes = models.PositiveSmallIntegerField(default=10)  # the queue's lease
    # Speed to lead: leads that qualified within the last hours and were never touched
    # go to the front of the queue.
    new_leads_first = models.BooleanField(default=True)
    new_lead_hours = models.PositiveSmallIntegerField(default=24)
    then_by = models.CharField(max_length=8, choices=ThenBy.choices, default=ThenBy.OVERDUE)

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policy"

    def __str__(self) -> str:
        return f"first touch within {self.first_touch_minutes} min"
