"""Lifecycle stages, their recorded changes, the MQL/SQL definitions and the lifecycle windows."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    MQL = "mql", _("MQL")
    SQL = "sql", _("SQL")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    REPEAT_CUSTOMER = "repeat_customer", _("Repeat customer")
    VIP = "vip", _("VIP")
    AT_RISK = "at_risk", _("At risk")
    CHURNED = "churned", _("Churned")


# How far along a stage is, for "more advanced" (merges) and "forward only" (qualification).
# At-risk and churned contacts have bought, so they rank above every pre-sale stage.
STAGE_RANK: dict[str, int] = {
    LifecycleStage.SUBSCRIBER: 0,
    LifecycleStage.LEAD: 1,
    LifecycleStage.MQL: 2,
    LifecycleStage.SQL: 3,
    LifecycleStage.OPPORTUNITY: 4,
    LifecycleStage.CHURNED: 5,
    LifecycleStage.AT_RISK: 6,
    LifecycleStage.CUSTOMER: 7,
    LifecycleStage.REPEAT_CUSTOMER: 8,
    LifecycleStage.VIP: 9,
}
# Stages a contact only holds because it bought.
BUYER_STAGES = frozenset(
    {
        LifecycleStage.CUSTOMER,
        LifecycleStage.REPEAT_CUSTOMER,
        LifecycleStage.VIP,
        LifecycleStage.AT_RISK,
        LifecycleStage.CHURNED,
    }
)


def stage_label(value: str) -> str:
    try:
        return str(LifecycleStage(value).label)
    except ValueError:
        return value


class StageChange(models.Model):
    """One move of one contact from a stage to another, with what caused it."""

    class Cause(models.TextChoices):
        DEFINITION = "rule", _("MQL/SQL definition")
        EVENT = "event", _("event")
        ORDER = "order", _("order")
        USER = "user", _("moved by hand")
        IMPORT = "import", _("import")
        WINDOW = "window", _("inactivity window")
        MERGE = "merge", _("contact merge")
        AUTOMATION = "journey", _("journey")

    contact = models.ForeignKey(
        "leads.Contact", on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(_("from"), max_length=20, blank=True)
    to_stage = models.CharField(_("to"), max_length=20)
    at = models.DateTimeField(_("at"), default=timezone.now)
    cause_kind = models.CharField(_("cause"), max_length=10, choices=Cause.choices)
    cause_detail = models.CharField(_("why"), max_length=300, blank=True)
    # The criterion of a definition that matched ("product_views", "event", …).
    criterion = models.CharField(max_length=40, blank=True)
    # Plain ids, not foreign keys: the change stays readable after an event or order is gone,
    # and bulk deletes of events need not touch this table.
    event_id = models.BigIntegerField(null=True, blank=True)
    order_id = models.BigIntegerField(null=True, blank=True)
    definition = models.ForeignKey(
        "leads.QualificationDefinition",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)
    # A move to a less advanced stage: events older than it no longer qualify the contact.
    backward = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["contact", "-at", "-id"], name="stagechange_timeline"),
            models.Index(fields=["to_stage", "-at"], name="stagechange_to"),
            models.Index(
                fields=["contact", "-at"], name="stagechange_backward", condition=Q(backward=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage}"

    @property
    def from_label(self) -> str:
        return stage_label(self.from_stage) if self.from_stage else "\u2013"

    @property
    def to_label(self) -> str:
        return stage_label(self.to_stage)


class QualificationDefinition(models.Model):
    """An editable "what makes an MQL / SQL": a contact qualifies when ANY criterion matches.

    `criteria` is a list of {"kind": …, parameters…}, validated by
    `leads.services.qualification.criteria_clean`.
    """

    class Kind(models.TextChoices):
        MQL = "mql", _("MQL")
        SQL = "sql", _("SQL")

    kind = models.CharField(_("qualifies as"), max_length=3, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    criteria = models.JSONField(_("criteria"), default=list, blank=True)
    version = models.PositiveIntegerField(default=1)  # optimistic lock for concurrent edits
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="qualification_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class LifecycleSettings(models.Model):
    """The windows that move contacts backwards and the VIP bar. One row (pk=1)."""

    vip_min_revenue = models.DecimalField(
        _("VIP from lifetime net revenue"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("1000"),
        help_text=_("Customers whose paid orders, less refunds, reach this amount become VIP."),
    )
    at_risk_after_days = models.PositiveIntegerField(
        _("at risk after (days without an order)"), default=90
    )
    churned_after_days = models.PositiveIntegerField(
        _("churned after (days without an order)"), default=180
    )
    mql_inactive_days = models.PositiveIntegerField(
        _("MQL falls back to lead after (days without activity)"),
        default=30,
        help_text=_("0 keeps MQLs forever."),
    )
    sql_inactive_days = models.PositiveIntegerField(
        _("SQL falls back to MQL after (days without activity)"),
        default=60,
        help_text=_("0 keeps SQLs forever."),
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "lifecycle settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="lifecycle_settings_one")]

    def __str__(self) -> str:
        return "lifecycle settings"
