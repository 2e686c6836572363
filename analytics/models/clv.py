"""Predictive CLV: the last BG/NBD + Gamma-Gamma fit and each customer's prediction from it."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class ClvFit(models.Model):
    """One fit of the models over the shop's customers (nightly, or `manage.py analytics_clv_fit`)."""

    fitted_at = models.DateTimeField()
    customers = models.PositiveIntegerField(default=0)  # customers the models were fitted on
    repeat_buyers = models.PositiveIntegerField(default=0)
    predicted = models.PositiveIntegerField(default=0)  # customers given a prediction
    unit_days = models.PositiveSmallIntegerField(default=7)  # the models count in weeks
    horizon = models.PositiveSmallIntegerField(default=52)  # periods ahead the CLV covers
    params = models.JSONField(default=dict, blank=True)  # r, alpha, a, b, p, q, v
    error = models.TextField(blank=True)  # why there is no fit (too little data …)
    took_ms = models.PositiveIntegerField(default=0)

    class Meta:
        get_latest_by = "fitted_at"

    def __str__(self) -> str:
        return f"CLV fit {self.fitted_at:%Y-%m-%d %H:%M}"


class CustomerPrediction(models.Model):
    contact = models.OneToOneField(
        "leads.Contact", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    p_alive = models.FloatField()
    expected_orders = models.FloatField()  # over the fit's horizon
    predicted_clv = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.predicted_clv}"


class PredictionDay(models.Model):
    """The last fit's predictions summed per customer's first-order day, first-touch channel /
    campaign and tenth of probability alive: predictive CLV without reading every customer.
    Rebuilt with each fit (a customer's prediction only changes then)."""

    day = models.DateField()  # the customer's first-order day
    channel = models.CharField(max_length=80, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    alive_bucket = models.PositiveSmallIntegerField()  # 1 = p_alive under 0.1 … 10
    customers = models.PositiveIntegerField(default=0)
    clv = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))  # sum
    alive = models.FloatField(default=0)  # sum of p_alive
    orders = models.FloatField(default=0)  # sum of expected orders

    class Meta:
        indexes = [models.Index(fields=["day", "channel"], name="predictionday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.campaign} {self.alive_bucket}"
