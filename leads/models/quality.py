"""Lead quality as the reps judge it: the loop that tells marketing which leads are worth it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LeadRating(models.Model):
    """One rep's verdict on one lead. A new verdict replaces the current one; the old one
    stays as history (`current` False), so a lead's story and who judged it are kept."""

    class Verdict(models.TextChoices):
        GOOD = "good", _("Good lead")
        BAD = "bad", _("Bad lead")

    class Reason(models.TextChoices):
        # Why a lead was bad: what marketing can act on (targeting, forms, sources).
        NO_NEED = "no_need", _("No need or interest")
        NO_BUDGET = "no_budget", _("No budget, only comparing prices")
        NOT_A_BUYER = "not_a_buyer", _("Not a buyer (student, job seeker, researcher)")
        COMPETITOR = "competitor", _("Competitor")
        OUTSIDE_MARKET = "outside_market", _("Outside our market (country, size)")
        WRONG_CONTACT = "wrong_contact", _("Wrong or fake contact details")
        SPAM = "spam", _("Spam or bot")
        OTHER = "other", _("Other (see note)")

    contact = models.ForeignKey("leads.Contact", on_delete=models.CASCADE, related_name="ratings")
    verdict = models.CharField(_("quality"), max_length=4, choices=Verdict.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    rated_at = models.DateTimeField(default=timezone.now)
    current = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact"], condition=Q(current=True), name="leadrating_one_current"
            ),
            models.CheckConstraint(
                condition=Q(verdict="good", reason="") | Q(verdict="bad") & ~Q(reason=""),
                name="leadrating_reason_iff_bad",
            ),
        ]
        indexes = [models.Index(fields=["contact", "-rated_at"], name="leadrating_contact")]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} ({self.contact_id})"
