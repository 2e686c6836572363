"""Which channels and campaigns get the credit for an order, under each attribution model."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _


class AttributionModel(models.TextChoices):
    FIRST_TOUCH = "first", _("first touch")
    LAST_TOUCH = "last", _("last touch")
    LINEAR = "linear", _("linear")
    POSITION = "position", _("position-based (40/20/40)")
    TIME_DECAY = "decay", _("time decay")


class Attribution(models.Model):
    """One model's credit for one touchpoint of one order. Credits of an order sum to 1.

    Stored for every model at once, so dashboards switch and compare models instantly.
    """

    order = models.ForeignKey("leads.Order", on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=8, choices=AttributionModel.choices)
    channel = models.CharField(max_length=80)
    campaign = models.CharField(max_length=200, blank=True)
    touched_at = models.DateTimeField(null=True)  # null: no touchpoint in the lookback
    credit = models.DecimalField(max_digits=9, decimal_places=6)
    revenue = models.DecimalField(max_digits=16, decimal_places=4, default=Decimal("0"))

    class Meta:
        indexes = [models.Index(fields=["order", "model"], name="attribution_order")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.model} {self.channel} {self.credit}"
