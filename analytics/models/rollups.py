"""Rollups the dashboards read, kept current by `analytics.services.rollups`.

Database triggers on orders, refunds, sessions, events and stage changes mark what changed
(`DirtyDay`, `DirtyContact`); the refresh task recomputes just those days and contacts from the
raw tables, set-based. A day here is a calendar day in the reporting time zone
(`GROWTH_REPORTING_TIME_ZONE`); money is in the reporting currency (`GROWTH_BASE_CURRENCY`).
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


def money() -> models.DecimalField:
    return models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))


class DirtyDay(models.Model):
    """A UTC date whose rollups of one kind must be recomputed. Written by triggers only."""

    class Kind(models.TextChoices):
        SALES = "sales", _("sales")
        TRAFFIC = "traffic", _("traffic")
        STAGES = "stages", _("stages")
        CONTACTS = "contacts", _("contacts")

    kind = models.CharField(max_length=8, choices=Kind.choices)
    day = models.DateField()
    marked_at = models.DateTimeField()

    class Meta:
        # Appended, not unique: a unique index would make concurrent ingest transactions wait
        # for each other; the refresh reads DISTINCT.
        indexes = [models.Index(fields=["kind", "day"], name="dirtyday_kind_day")]

    def __str__(self) -> str:
        return f"{self.kind} {self.day}"


class DirtyContact(models.Model):
    """A contact whose orders changed: its customer facts must be recomputed."""

    contact_id = models.BigIntegerField()
    marked_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["contact_id"], name="dirtycontact_contact")]

    def __str__(self) -> str:
        return f"contact {self.contact_id}"


class RefreshState(models.Model):
    """When each rollup was last refreshed (one row per name), for the dashboards' footers."""

    name = models.CharField(max_length=20, primary_key=True)
    refreshed_at = models.DateTimeField()
    took_ms = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} {self.refreshed_at}"


class CustomerFact(models.Model):
    """A contact who ordered: first and last order, orders and net revenue over its life."""

    contact = models.OneToOneField(
        "leads.Contact", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    first_seen_at = models.DateTimeField()
    first_order = models.ForeignKey("leads.Order", on_delete=models.CASCADE, related_name="+")
    first_order_at = models.DateTimeField()
    first_order_day = models.DateField()
    last_order_at = models.DateTimeField()
    orders = models.PositiveIntegerField()
    net = money()
    channel = models.CharField(max_length=80, blank=True)  # the contact's first-touch channel
    campaign = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            # Covering: time to purchase reads a period's customers without the table.
            models.Index(
                fields=["first_order_day", "channel"],
                include=["campaign", "first_seen_at", "first_order_at"],
                name="customer_first_day_cover",
            ),
            models.Index(fields=["first_order"], name="customer_first_order"),
        ]

    def __str__(self) -> str:
        return f"customer {self.contact_id}"


class SalesDay(models.Model):
    """Orders and money per day and first-touch channel / campaign of the buyer."""

    day = models.DateField()
    channel = models.CharField(max_length=80, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    orders = models.PositiveIntegerField(default=0)
    new_customers = models.PositiveIntegerField(default=0)
    returned_orders = models.PositiveIntegerField(
        default=0
    )  # refunded (wholly or partly) or cancelled
    gross = money()
    refunds = money()  # refunds and cancellations
    net = money()
    customers_net = money()  # net revenue to date of the new customers (historical CLV)

    class Meta:
        indexes = [models.Index(fields=["day", "channel"], name="salesday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.campaign}"


class AttributionDay(models.Model):
    """Attributed orders and net revenue per day, model, channel and campaign."""

    day = models.DateField()
    model = models.CharField(max_length=8)
    channel = models.CharField(max_length=80)
    campaign = models.CharField(max_length=200, blank=True)
    orders = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    revenue = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal("0"))

    class Meta:
        indexes = [models.Index(fields=["model", "day"], name="attributionday_model_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.model} {self.channel} {self.campaign}"


class TrafficDay(models.Model):
    """Sessions per day and channel / campaign, and how far each got down the shop funnel."""

    day = models.DateField()
    channel = models.CharField(max_length=80, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    sessions = models.PositiveIntegerField(default=0)
    visitors = models.PositiveIntegerField(default=0)  # distinct contacts that day
    bounces = models.PositiveIntegerField(default=0)  # sessions with at most one page view
    product_views = models.PositiveIntegerField(default=0)  # sessions that viewed a product
    carts = models.PositiveIntegerField(default=0)
    checkouts = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)  # sessions that completed an order

    class Meta:
        indexes = [models.Index(fields=["day", "channel"], name="trafficday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.campaign}"


class StageDay(models.Model):
    """Contacts that reached a lifecycle stage for the first time, per day and source channel."""

    day = models.DateField()
    stage = models.CharField(max_length=20)
    channel = models.CharField(max_length=80, blank=True)
    contacts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "stage"], name="stageday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.stage} {self.channel}"


class CohortMonth(models.Model):
    """Customers of a first-order month who ordered again `month` months later, and their revenue."""

    cohort = models.DateField()  # first day of the month of the first order
    month = models.PositiveSmallIntegerField()  # 0 = the first order's month
    channel = models.CharField(max_length=80, blank=True)
    customers = models.PositiveIntegerField(default=0)
    net = money()

    class Meta:
        indexes = [models.Index(fields=["cohort", "month"], name="cohortmonth_cohort")]

    def __str__(self) -> str:
        return f"{self.cohort} +{self.month} {self.channel}"


class ProductDay(models.Model):
    """Per day and product (the shop's product id): views, adds to cart, and adds in sessions
    that ended without an order (abandoned)."""

    day = models.DateField()
    product = models.CharField(max_length=120)
    name = models.CharField(max_length=300, blank=True)
    views = models.PositiveIntegerField(default=0)
    adds = models.PositiveIntegerField(default=0)
    abandoned = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="productday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.product}"


class ProductSalesDay(models.Model):
    """Per day and product: units bought and their line revenue (before refunds, which the
    shop books per order, not per line), from placed orders that were not cancelled."""

    day = models.DateField()
    product = models.CharField(max_length=120)
    name = models.CharField(max_length=300, blank=True)
    quantity = models.IntegerField(default=0)
    revenue = money()

    class Meta:
        indexes = [models.Index(fields=["day"], name="productsalesday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.product}"


class ContactDay(models.Model):
    """New contacts per day of creation and first-touch channel / campaign, and how many of
    them are customers by now (conversion by source reads this, not the contacts table)."""

    day = models.DateField()
    channel = models.CharField(max_length=80)
    campaign = models.CharField(max_length=200, blank=True)
    contacts = models.PositiveIntegerField(default=0)
    customers = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "channel"], name="contactday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.campaign}"


class RfmCell(models.Model):
    """Customers per recency x frequency score (1 to 5) against the last RFM cutoffs: the
    RFM grid, recomputed with the cohorts and whenever new cutoffs are computed."""

    cutoffs_id = models.BigIntegerField()  # the leads.RfmCutoffs scored against
    recency = models.PositiveSmallIntegerField()
    frequency = models.PositiveSmallIntegerField()
    customers = models.PositiveIntegerField(default=0)
    net = money()

    def __str__(self) -> str:
        return f"R{self.recency} F{self.frequency}"


class PurchaseTimeSummary(models.Model):
    """Time to purchase of the shipped periods (the last 7, 30, 90 and 365 days up to
    `end_day`), for all channels (channel "*") and per channel: a percentile needs every value
    sorted, so it is computed with the cohorts (at most once a minute), not per page view.
    Other periods and filters are computed from the customers when asked."""

    days = models.PositiveSmallIntegerField()  # the period's length
    end_day = models.DateField()
    channel = models.CharField(max_length=80)
    customers = models.PositiveIntegerField(default=0)
    median = models.FloatField(null=True)  # in days
    p75 = models.FloatField(null=True)
    p90 = models.FloatField(null=True)
    buckets = ArrayField(models.PositiveIntegerField())  # customers per PURCHASE_BUCKETS range

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["days", "end_day", "channel"], name="purchasetime_period_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.days}d to {self.end_day} {self.channel}"
