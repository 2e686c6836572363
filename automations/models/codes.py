"""Discount codes: unique per contact, generated from a pattern or taken from a pool the
shop created and the marketer uploaded; redeemed when an order carries the code."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DiscountCampaign(models.Model):
    class Kind(models.TextChoices):
        PATTERN = "pattern", _("generated from a pattern")
        POOL = "pool", _("taken from an uploaded pool")

    name = models.CharField(_("name"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PATTERN)
    # "WELCOME-{code}": {code} becomes `code_length` random characters.
    pattern = models.CharField(_("pattern"), max_length=60, blank=True)
    code_length = models.PositiveSmallIntegerField(_("random characters"), default=8)
    value = models.CharField(_("value"), max_length=60, help_text=_('What it gives, e.g. "10 %".'))
    valid_days = models.PositiveIntegerField(
        _("valid for days"), null=True, blank=True, help_text=_("Empty: does not expire.")
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DiscountCode(models.Model):
    campaign = models.ForeignKey(DiscountCampaign, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=100, unique=True)  # upper case
    contact = models.ForeignKey(
        "leads.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="discount_codes",
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    # Who asked for it (journey run and node, …): one code per key however often it asks.
    # Empty (NULL) for pool codes nobody has been given yet.
    issue_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey(
        "leads.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(issue_key__isnull=True, issued_at__isnull=True)
                | Q(issue_key__isnull=False, issued_at__isnull=False),
                name="discountcode_issued_has_key",
            )
        ]
        indexes = [
            # The pool's next free code: claimed with FOR UPDATE SKIP LOCKED.
            models.Index(
                fields=["campaign", "id"],
                name="discountcode_free",
                condition=Q(issue_key__isnull=True),
            ),
            models.Index(fields=["contact", "-issued_at"], name="discountcode_contact"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def expires_at(self) -> datetime | None:
        days = self.campaign.valid_days
        if self.issued_at is None or days is None:
            return None
        return self.issued_at + timedelta(days=days)
