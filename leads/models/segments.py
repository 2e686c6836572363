"""Segments: sets of contacts defined by rules (dynamic), by hand or CSV (static lists), by
RFM scores of their orders (shipped RFM segments), or by fit (buyer personas).

Membership is one row per stay: entering opens a row, leaving closes it (`exited_at`), so
"who is in now" is the rows still open and a segment's enter/exit history is kept.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Segment(models.Model):
    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", _("dynamic")
        STATIC = "static", _("static list")
        RFM = "rfm", _("RFM")
        PERSONA = "persona", _("persona")

    class State(models.TextChoices):
        READY = "ready", _("up to date")
        COMPUTING = "computing", _("computing members")
        FAILED = "failed", _("failed")

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.DYNAMIC)
    # {"match": "all" | "any", "conditions": [condition or group, …]}, validated by
    # leads.services.segment_rules.rules_clean. Empty for static lists and RFM segments.
    rules = models.JSONField(_("rules"), default=dict, blank=True)
    rfm_key = models.CharField(max_length=20, blank=True)  # shipped RFM segments: "champions", …
    # Rules that depend on the clock ("in the last 7 days"): members drift without new data,
    # so the beat refreshes these segments.
    volatile = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)  # optimistic lock for concurrent edits
    member_count = models.IntegerField(_("members"), default=0)

    state = models.CharField(max_length=10, choices=State.choices, default=State.READY)
    # The full computation goes through contact ids in ranges: done/total ids, resumable.
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    computed_version = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    # Why the rules cannot be evaluated now (a persona or list they name was deleted).
    problem = models.TextField(blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("name"), "kind", name="segment_unique_name"),
            models.UniqueConstraint(
                fields=["rfm_key"], condition=~Q(rfm_key=""), name="segment_unique_rfm"
            ),
        ]
        indexes = [models.Index(fields=["kind", "state"], name="segment_kind")]

    def __str__(self) -> str:
        return self.name

    @property
    def percent(self) -> int:
        if self.state != self.State.COMPUTING:
            return 100
        if not self.progress_total:
            return 0
        return min(99, int(100 * self.progress_done / self.progress_total))

    @property
    def is_rule_based(self) -> bool:
        return self.kind in (self.Kind.DYNAMIC, self.Kind.PERSONA)


class SegmentMembership(models.Model):
    """One stay of one contact in one segment: open while `exited_at` is empty."""

    class Via(models.TextChoices):
        RULES = "rules", _("rules")
        HAND = "hand", _("added by hand")
        BULK = "bulk", _("added from the contact list")
        CSV = "csv", _("CSV upload")
        RFM = "rfm", _("RFM scores")
        MERGE = "merge", _("contact merge")
        AUTOMATION = "journey", _("added by a journey")

    # No index of its own: (segment, -entered_at) and the unique open rows cover it.
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    contact = models.ForeignKey(
        "leads.Contact", on_delete=models.CASCADE, related_name="segment_memberships"
    )
    entered_at = models.DateTimeField()
    exited_at = models.DateTimeField(null=True, blank=True)
    via = models.CharField(max_length=10, choices=Via.choices, default=Via.RULES)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        # Indexes: the unique open stays (segment, contact), the contact's own (its foreign
        # key's index: a contact's segments, and deleting a contact), and the history.
        # Every index costs each row a full computation inserts, so there are no more.
        constraints = [
            # Also the "current members of a segment" index: (segment, contact) open rows.
            models.UniqueConstraint(
                fields=["segment", "contact"],
                condition=Q(exited_at__isnull=True),
                name="segmentmember_current",
            )
        ]
        indexes = [
            # Enter / exit history and the growth column.
            models.Index(fields=["segment", "-entered_at"], name="segmentmember_entered"),
            models.Index(
                fields=["segment", "-exited_at"],
                condition=Q(exited_at__isnull=False),
                name="segmentmember_exited",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id}"


class RfmCutoffs(models.Model):
    """Quintile boundaries of the last full RFM computation (NTILE over all paying
    customers): the largest value in each of the five tiles, lowest tile first. Contacts a
    batch touches are scored against them until the next full computation."""

    computed_at = models.DateTimeField()
    customers = models.IntegerField(default=0)
    recency = ArrayField(models.DateTimeField())  # last paid order time
    frequency = ArrayField(models.IntegerField())  # paid orders
    monetary = ArrayField(models.DecimalField(max_digits=16, decimal_places=2))  # net revenue

    class Meta:
        get_latest_by = "computed_at"

    def __str__(self) -> str:
        return f"RFM cutoffs {self.computed_at:%Y-%m-%d %H:%M}"
