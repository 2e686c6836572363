"""What acquisition cost: ad spend per day, channel and campaign, and other costs per period."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


def money() -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))


class SpendImport(models.Model):
    """One uploaded ad-spend file, kept raw; imported whole or not at all."""

    class Layout(models.TextChoices):
        GOOGLE_ADS = "google_ads", _("Google Ads export")
        META_ADS = "meta_ads", _("Meta Ads export")
        GENERIC = "generic", _("Other (map the columns)")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("waiting for the column mapping")
        FAILED = "failed", _("not imported: see the row report")
        DONE = "done", _("imported")

    layout = models.CharField(_("layout"), max_length=12, choices=Layout.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED
    )
    file = models.BinaryField(_("file"))
    filename = models.CharField(_("file name"), max_length=255)
    header = models.JSONField(default=list, blank=True)
    sample = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True)  # {target: column name}
    channel = models.CharField(_("channel"), max_length=80, blank=True)  # when no column has it
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_imported = models.PositiveIntegerField(_("imported"), default=0)
    errors = models.JSONField(default=list, blank=True)  # [{row, column, value, message}]
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at", "-id"], name="spend_import_recent")]

    def __str__(self) -> str:
        return self.filename


class AdSpend(models.Model):
    """What one campaign of one channel cost on one day, in its currency and the base one.

    `channel` uses the labels sessions get (`leads.ingest.attribution.channel_of`), e.g.
    "google / cpc", so spend and attributed revenue meet on the same key.
    """

    day = models.DateField(_("date"))
    channel = models.CharField(_("channel"), max_length=80)
    campaign = models.CharField(_("campaign"), max_length=200, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    cost = money()
    rate_to_base = models.DecimalField(max_digits=16, decimal_places=8, default=Decimal("1"))
    cost_base = money()  # cost x rate_to_base, in the reporting currency
    clicks = models.PositiveBigIntegerField(_("clicks"), default=0)
    impressions = models.PositiveBigIntegerField(_("impressions"), default=0)
    spend_import = models.ForeignKey(
        SpendImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="rows"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # A re-imported file or a retried API call replaces the day's figure.
            models.UniqueConstraint(
                fields=["day", "channel", "campaign"], name="adspend_one_per_day"
            ),
            models.CheckConstraint(condition=Q(cost__gte=0), name="adspend_cost_not_negative"),
        ]
        indexes = [models.Index(fields=["day", "channel"], name="adspend_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.campaign}"


class OtherCost(models.Model):
    """Acquisition cost outside the ad platforms (agency fees, tools), spread evenly per day."""

    class Kind(models.TextChoices):
        AGENCY = "agency", _("agency fees")
        TOOLS = "tools", _("tools and software")
        PEOPLE = "people", _("people")
        OTHER = "other", _("other")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    description = models.CharField(_("description"), max_length=200, blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to"))
    channel = models.CharField(_("channel"), max_length=80, blank=True)  # blank: every channel
    currency = models.CharField(_("currency"), max_length=3)
    amount = money()
    amount_base = money()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="othercost_period_forward"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="othercost_not_negative"),
        ]
        indexes = [models.Index(fields=["starts_on", "ends_on"], name="othercost_period")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_on} to {self.ends_on}"
