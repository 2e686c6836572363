"""Tables of analytics: ad spend, attribution and the rollups the dashboards read."""

from analytics.models.attribution import Attribution, AttributionModel
from analytics.models.clv import ClvFit, CustomerPrediction, PredictionDay
from analytics.models.rollups import (
    AttributionDay,
    CohortMonth,
    ContactDay,
    CustomerFact,
    DirtyContact,
    DirtyDay,
    ProductDay,
    ProductSalesDay,
    PurchaseTimeSummary,
    RefreshState,
    RfmCell,
    SalesDay,
    StageDay,
    TrafficDay,
)
from analytics.models.spend import AdSpend, OtherCost, SpendImport
from analytics.models.targets import FunnelTarget

__all__ = [
    "AdSpend",
    "Attribution",
    "AttributionDay",
    "AttributionModel",
    "ClvFit",
    "CohortMonth",
    "ContactDay",
    "CustomerFact",
    "CustomerPrediction",
    "DirtyContact",
    "DirtyDay",
    "FunnelTarget",
    "OtherCost",
    "PredictionDay",
    "ProductDay",
    "ProductSalesDay",
    "PurchaseTimeSummary",
    "RefreshState",
    "RfmCell",
    "SalesDay",
    "SpendImport",
    "StageDay",
    "TrafficDay",
]
