"""REST API for the KPIs: `GET /api/v1/kpis/` (read only, built on growth.api).

The headline figures of the dashboards for a period and the dashboards' filters (channel,
source, campaign, segment, attribution model), optionally with the previous period of the
same length: revenue, orders, AOV, new customers, returns, spend, CAC, historical and
predictive CLV, CLV:CAC, ROAS, traffic and bounce rate, conversion by source, time to
purchase, the shop and lead funnels and speed to lead. Every figure comes from the selector
the dashboard card or chart reads (analytics.selectors_*), so the API and the pages agree.

Money is in the base currency, as a decimal string; rates and ratios are numbers (0.5 is
50 %), null when there is nothing to divide by. Who: a key with `kpis:read`, or a person
who may read the dashboards (VIEW_DASHBOARDS).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from analytics import selectors_sales as S
from analytics.dashboards.parts import paid_roas
from analytics.filters import DEFAULT_PERIOD, MAX_DAYS, PERIODS, Filters, today
from analytics.models import AttributionModel
from analytics.selectors_clv import predictive_clv
from analytics.selectors_engagement import speed_to_lead
from analytics.services.rollups import reporting_zone
from growth.api.filters import Filters as QueryFilters
from growth.api.permissions import Access
from growth.api.views import ApiView
from growth.currency import base_currency
from growth.roles import Capability as C
from leads.api import MAX_ID
from leads.models import Segment

KPIS = Access("kpis", read=[C.VIEW_DASHBOARDS])
# Days outside are refused: the previous period and the day after the last must exist.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


def _rate(**kwargs: Any) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, **kwargs)


# --- Filters -------------------------------------------------------------------------------


class KpiFiltersIn(QueryFilters):
    def get_fields(self) -> dict[str, serializers.Field]:
        # Named as the dashboards' links name them; "from" cannot be a class attribute.
        return {
            "from": serializers.DateField(required=False, help_text="First day, inclusive."),
            "to": serializers.DateField(required=False, help_text="Last day, inclusive."),
            "days": serializers.IntegerField(
                required=False,
                min_value=1,
                max_value=MAX_DAYS,
                help_text="The last so many days up to today, instead of from / to "
                f"(default {PERIODS[DEFAULT_PERIOD][1]}).",
            ),
            "compare": serializers.BooleanField(
                required=False, default=False, help_text="Also the previous period."
            ),
            "channel": serializers.CharField(required=False, max_length=80),
            "source": serializers.CharField(
                required=False, max_length=80, help_text='"google" matches "google / cpc".'
            ),
            "campaign": serializers.CharField(required=False, max_length=200),
            "segment": serializers.IntegerField(
                required=False,
                min_value=1,
                max_value=MAX_ID,
                help_text="A segment or persona: its members' orders only.",
            ),
            "model": serializers.ChoiceField(
                choices=AttributionModel.values,
                required=False,
                help_text="Attribution model of ROAS (default first touch).",
            ),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("from"), attrs.get("to")
        for name in ("from", "to"):
            day = attrs.get(name)
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                raise serializers.ValidationError(
                    {
                        name: [
                            _("Choose a day from %(first)s to %(last)s.")
                            % {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()}
                        ]
                    }
                )
        if (start is None) != (end is None):
            raise serializers.ValidationError(
                {"to" if end is None else "from": [_("Give both from and to, or neither.")]}
            )
        if start is not None and end is not None:
            if attrs.get("days") is not None:
                raise serializers.ValidationError(
                    {"days": [_("Give days, or from and to: not both.")]}
                )
            if end < start:
                raise serializers.ValidationError({"to": [_("The period ends before it starts.")]})
            if (end - start).days + 1 > MAX_DAYS:
                raise serializers.ValidationError(
                    {"to": [_("Choose a period of at most %(days)s days.") % {"days": MAX_DAYS}]}
                )
        segment = attrs.get("segment")
        if segment is not None and not Segment.objects.filter(pk=segment).exists():
            raise serializers.ValidationError(
                {
                    "segment": [
                        _(
                            "There is no segment or persona number %(id)s (it may have been deleted)."
                        )
                        % {"id": segment}
                    ]
                }
            )
        return attrs


def filters_of(given: dict[str, Any]) -> Filters:
    """The dashboards' `Filters` for the validated query."""
    start: date | None = given.get("from")
    end: date | None = given.get("to")
    if start is None or end is None:
        end = today()
        start = end - timedelta(days=(given.get("days") or PERIODS[DEFAULT_PERIOD][1]) - 1)
    return Filters(
        start=start,
        end=end,
        channel=given.get("channel") or "",
        source=given.get("source") or "",
        campaign=given.get("campaign") or "",
        segment=given.get("segment"),
        model=given.get("model") or AttributionModel.FIRST_TOUCH,
        compare=bool(given.get("compare")),
    )


# --- Figures -------------------------------------------------------------------------------


def kpi_figures(filters: Filters, *, predictive: bool = True) -> dict[str, Any]:
    """Every figure of one period, each selector read once (a fixed number of queries)."""
    sales = S.sales_totals(filters)
    acquisition = S.acquisition(filters, sales)
    ad_spend, attributed, roas = paid_roas(S.roas_by_channel(filters))
    traffic = S.traffic_totals(filters)
    conversion = S.conversion_by_source(filters)
    sessions = sum(int(r["sessions"]) for r in conversion)
    ordering = sum(int(r["ordering_sessions"]) for r in conversion)
    contacts = sum(int(r["contacts"]) for r in conversion)
    customers = sum(int(r["customers"]) for r in conversion)
    ttp = S.time_to_purchase(filters)
    speed = speed_to_lead(filters)
    clv = predictive_clv(filters) if predictive else None
    return {
        "revenue": {"gross": sales.gross, "refunds": sales.refunds, "net": sales.net},
        "orders": sales.orders,
        "aov": sales.aov,
        "new_customers": sales.new_customers,
        "returned_orders": sales.returned_orders,
        "returns_rate": sales.returns_rate,
        "spend": {
            "ads": acquisition.spend.ads,
            "other": acquisition.spend.other,
            "total": acquisition.spend.total,
        },
        "cac": acquisition.cac,
        "clv": acquisition.clv,
        "clv_to_cac": acquisition.clv_to_cac,
        "predictive_clv": None
        if clv is None
        else {
            "value": clv["new_clv"],
            "customers": clv["new_customers"],
            "alive": clv["new_alive"],
            "orders_expected": clv["new_orders"],
            "fitted_at": clv["fit"].fitted_at if clv["fit"] is not None else None,
        },
        "roas": {"ad_spend": ad_spend, "attributed_revenue": attributed, "roas": roas},
        "traffic": {
            "sessions": int(traffic["sessions"]),
            "visitors": int(traffic["visitors"]),
            "bounces": int(traffic["bounces"]),
            "bounce_rate": traffic["bounce_rate"],
        },
        "conversion": {
            "sessions": sessions,
            "ordering_sessions": ordering,
            "session_rate": S.ratio(ordering, sessions),
            "contacts": contacts,
            "customers": customers,
            "contact_rate": S.ratio(customers, contacts),
            "by_source": conversion,
        },
        "time_to_purchase": {
            "customers": ttp["customers"],
            "median_days": ttp["median"],
            "p75_days": ttp["p75"],
            "p90_days": ttp["p90"],
        },
        "funnels": {"shop": S.shop_funnel(filters, traffic), "lead": S.lead_funnel(filters)},
        "speed_to_lead": {
            "qualified": speed.qualified,
            "touched": speed.touched,
            "median_minutes": speed.median_minutes,
            "p75_minutes": speed.p75_minutes,
            "p90_minutes": speed.p90_minutes,
            "sla_hit": speed.sla_hit,
            "sla_decided": speed.sla_decided,
            "sla_rate": speed.sla_rate,
        },
    }


# --- Output --------------------------------------------------------------------------------


class PeriodOut(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        # The query's names: "from" cannot be a class attribute.
        return {
            "from": serializers.DateField(source="start"),
            "to": serializers.DateField(source="end", help_text="Inclusive."),
            "days": serializers.IntegerField(),
        }


class RevenueOut(serializers.Serializer):
    gross = _money()
    refunds = _money()
    net = _money(help_text="Gross less refunds and cancellations.")


class SpendOut(serializers.Serializer):
    ads = _money()
    other = _money(help_text="Other acquisition costs, prorated to the period.")
    total = _money()


class PredictiveClvOut(serializers.Serializer):
    value = _money(allow_null=True, help_text="Mean expected net revenue of the new customers.")
    customers = serializers.IntegerField()
    alive = _rate(help_text="Mean probability of still being a customer.")
    orders_expected = _rate()
    fitted_at = serializers.DateTimeField(allow_null=True)


class RoasOut(serializers.Serializer):
    ad_spend = _money()
    attributed_revenue = _money(help_text="Of the channels with ad spend.")
    roas = _rate()


class TrafficOut(serializers.Serializer):
    sessions = serializers.IntegerField()
    visitors = serializers.IntegerField(help_text="Visitor-days.")
    bounces = serializers.IntegerField()
    bounce_rate = _rate()


class SourceConversionOut(serializers.Serializer):
    channel = serializers.CharField()
    sessions = serializers.IntegerField()
    ordering_sessions = serializers.IntegerField()
    session_conversion = _rate()
    contacts = serializers.IntegerField(help_text="New contacts of the period.")
    customers = serializers.IntegerField(help_text="Of those, customers by now.")
    contact_conversion = _rate()


class ConversionOut(serializers.Serializer):
    sessions = serializers.IntegerField()
    ordering_sessions = serializers.IntegerField()
    session_rate = _rate()
    contacts = serializers.IntegerField()
    customers = serializers.IntegerField()
    contact_rate = _rate()
    by_source = SourceConversionOut(many=True)


class TimeToPurchaseOut(serializers.Serializer):
    customers = serializers.IntegerField()
    median_days = _rate()
    p75_days = _rate()
    p90_days = _rate()


class FunnelStepOut(serializers.Serializer):
    step = serializers.CharField()
    count = serializers.IntegerField()
    from_previous = _rate()
    drop_off = _rate()
    from_first = _rate()
    target = _rate(help_text="The target conversion from the step before, when set.")
    on_target = serializers.BooleanField(allow_null=True)


class FunnelsOut(serializers.Serializer):
    shop = FunnelStepOut(many=True, help_text="Visit → product view → cart → checkout → order.")
    lead = FunnelStepOut(many=True, help_text="Lead → MQL → SQL → customer.")


class SpeedToLeadOut(serializers.Serializer):
    qualified = serializers.IntegerField(help_text="Leads that became MQL in the period.")
    touched = serializers.IntegerField()
    median_minutes = _rate()
    p75_minutes = _rate()
    p90_minutes = _rate()
    sla_hit = serializers.IntegerField()
    sla_decided = serializers.IntegerField()
    sla_rate = _rate()


class FiguresOut(serializers.Serializer):
    revenue = RevenueOut()
    orders = serializers.IntegerField(help_text="Placed (not pending).")
    aov = _money(allow_null=True)
    new_customers = serializers.IntegerField(help_text="First order in the period.")
    returned_orders = serializers.IntegerField()
    returns_rate = _rate()
    spend = SpendOut()
    cac = _money(allow_null=True)
    clv = _money(allow_null=True, help_text="Historical: net revenue to date per new customer.")
    clv_to_cac = _rate()
    predictive_clv = PredictiveClvOut(allow_null=True, help_text="Null for the previous period.")
    roas = RoasOut()
    traffic = TrafficOut()
    conversion = ConversionOut()
    time_to_purchase = TimeToPurchaseOut()
    funnels = FunnelsOut()
    speed_to_lead = SpeedToLeadOut()


class KpisOut(serializers.Serializer):
    period = PeriodOut()
    compared_with = PeriodOut(allow_null=True)
    currency = serializers.CharField()
    time_zone = serializers.CharField(help_text="Days are days of this zone.")
    model = serializers.ChoiceField(choices=AttributionModel.values)
    current = FiguresOut()
    previous = FiguresOut(allow_null=True)


def _period(filters: Filters) -> dict[str, Any]:
    return {"start": filters.start, "end": filters.end, "days": filters.days}


class KpiView(ApiView):
    access = KPIS
    filters = KpiFiltersIn  # documented as the query parameters (growth.api.schema)

    @extend_schema(responses={200: KpisOut})
    def get(self, request: Request) -> Response:
        """The KPIs of a period (default: the last 30 days), as the dashboards show them."""
        filters = filters_of(KpiFiltersIn.parse(request))
        before = filters.previous() if filters.compare else None
        body = {
            "period": _period(filters),
            "compared_with": _period(before) if before else None,
            "currency": base_currency(),
            "time_zone": reporting_zone().key,
            "model": filters.model,
            "current": kpi_figures(filters),
            "previous": kpi_figures(before, predictive=False) if before else None,
        }
        return Response(KpisOut(body).data)


urlpatterns = [path("", KpiView.as_view(), name="api_kpis")]
