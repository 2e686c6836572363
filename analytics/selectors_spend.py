"""Reads of ad spend and other acquisition costs, for the pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce

from analytics.models import AdSpend, OtherCost, SpendImport

RECENT_IMPORTS = 10
ZERO = Decimal("0")


def ad_spend_list(
    *,
    start: date | None = None,
    end: date | None = None,
    channel: str = "",
    campaign: str = "",
    spend_import: SpendImport | None = None,
) -> QuerySet[AdSpend]:
    """Spend rows, newest day first. `campaign` matches part of the name, any case."""
    rows = AdSpend.objects.all()
    if start:
        rows = rows.filter(day__gte=start)
    if end:
        rows = rows.filter(day__lte=end)
    if channel:
        rows = rows.filter(channel=channel)
    if campaign:
        rows = rows.filter(campaign__icontains=campaign)
    if spend_import is not None:
        rows = rows.filter(spend_import=spend_import)
    return rows.order_by("-day", "channel", "campaign", "id")


@dataclass(frozen=True)
class SpendTotals:
    rows: int
    cost_base: Decimal
    clicks: int
    impressions: int


def ad_spend_totals(rows: QuerySet[AdSpend]) -> SpendTotals:
    """Sums of a filtered list, in the reporting currency, in one query."""
    totals = rows.order_by().aggregate(
        rows=Count("id"),
        cost_base=Coalesce(Sum("cost_base"), ZERO),
        clicks=Coalesce(Sum("clicks"), 0),
        impressions=Coalesce(Sum("impressions"), 0),
    )
    return SpendTotals(**totals)


def ad_spend_channels() -> list[str]:
    """Channels spend was imported for, for the filter."""
    return list(AdSpend.objects.order_by("channel").values_list("channel", flat=True).distinct())


def ad_spend_exists() -> bool:
    return AdSpend.objects.exists()


def spend_import_recent(*, limit: int = RECENT_IMPORTS) -> list[SpendImport]:
    return list(
        SpendImport.objects.defer("file", "sample", "errors")
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")[:limit]
    )


def spend_import_get(*, pk: int) -> SpendImport:
    """An import without its stored file: pages need its description and report only."""
    return SpendImport.objects.defer("file").select_related("uploaded_by").get(pk=pk)


def other_cost_list() -> QuerySet[OtherCost]:
    return OtherCost.objects.order_by("-starts_on", "-id")


def other_cost_total() -> Decimal:
    return OtherCost.objects.aggregate(total=Coalesce(Sum("amount_base"), ZERO))["total"]
