"""Targets per funnel step: the conversion from the step before that the team aims for."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class FunnelTarget(models.Model):
    class Funnel(models.TextChoices):
        SHOP = "shop", _("shop funnel")
        LEAD = "lead", _("lead funnel")

    funnel = models.CharField(max_length=4, choices=Funnel.choices)
    step = models.CharField(
        max_length=20
    )  # a step of analytics.selectors_sales SHOP_STEPS / LEAD_STEPS
    rate = models.DecimalField(_("target conversion"), max_digits=5, decimal_places=4)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["funnel", "step"], name="funneltarget_one_per_step"),
            models.CheckConstraint(
                condition=Q(rate__gt=0) & Q(rate__lte=1), name="funneltarget_rate_share"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.funnel} {self.step} {self.rate}"
