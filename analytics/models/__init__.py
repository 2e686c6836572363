"""Tables of analytics: ad spend, attribution and the rollups the dashboards read."""

from analytics.models.attribution import Attribution, AttributionModel
from analytics.models.rollups import (
    AttributionDay,
    CohortMonth,
    CustomerFact,
    DirtyContact,
    DirtyDay,
    RefreshState,
    SalesDay,
    StageDay,
    TrafficDay,
)
from analytics.models.spend import AdSpend, OtherCost, SpendImport

__all__ = [
    "AdSpend",
    "Attribution",
    "AttributionDay",
    "AttributionModel",
    "CohortMonth",
    "CustomerFact",
    "DirtyContact",
    "DirtyDay",
    "OtherCost",
    "RefreshState",
    "SalesDay",
    "SpendImport",
    "StageDay",
    "TrafficDay",
]
