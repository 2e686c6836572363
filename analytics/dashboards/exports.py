"""Each chart's numbers as CSV: the chart's key (the file's name) to what builds the file for
the filters, from the same records and columns as the chart's table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analytics import selectors_sales as S
from analytics.dashboards.figures_manager import (
    ALIVE_COLUMNS,
    CONVERSION_COLUMNS,
    FORECAST_COLUMNS,
    FUNNEL_CSV_COLUMNS,
    LEAD_STEP_LABELS,
    REVENUE_COLUMNS,
    ROAS_COLUMNS,
    SHOP_STEP_LABELS,
    alive_records,
    cohort_columns,
    cohort_records,
    forecast_records,
    funnel_records,
    rfm_csv,
    time_to_purchase_csv,
)
from analytics.dashboards.figures_marketing import (
    CAMPAIGN_COLUMNS,
    JOURNEY_COLUMNS,
    MESSAGE_CSV_COLUMNS,
    SEGMENT_COLUMNS,
    TOP_PRODUCT_CSV_COLUMNS,
    TRAFFIC_COLUMNS,
    attribution_columns,
    attribution_records,
    journey_records,
    message_records,
    segment_records,
    top_product_records,
    traffic_records,
)
from analytics.dashboards.figures_sales import (
    CADENCE_COLUMNS,
    SPEED_CSV_COLUMNS,
    cadence_records,
    speed_records,
)
from analytics.dashboards.tables import Csv, csv_of
from analytics.filters import Filters

# --- CSV ------------------------------------------------------------------------------------


def _export_funnel(steps: list[dict[str, Any]], labels: dict[str, Any]) -> Csv:
    return csv_of(FUNNEL_CSV_COLUMNS, funnel_records(steps, labels))


def _export_cohorts(filters: Filters) -> Csv:
    months, records = cohort_records(S.cohort_retention(filters))
    return csv_of(cohort_columns(months), records)


def _export_forecast(filters: Filters) -> Csv:
    from analytics.selectors_forecast import forecast

    return csv_of(FORECAST_COLUMNS, forecast_records(forecast(filters)))


def _export_alive(filters: Filters) -> Csv:
    from analytics.selectors_clv import predictive_clv

    return csv_of(ALIVE_COLUMNS, alive_records(predictive_clv(filters)))


def _engagement(name: str) -> Callable[[Filters], Any]:
    def read(filters: Filters) -> Any:
        from analytics import selectors_engagement

        return getattr(selectors_engagement, name)(filters)

    return read


def _products(name: str) -> Callable[[Filters], Any]:
    def read(filters: Filters) -> Any:
        from analytics import selectors_products

        return getattr(selectors_products, name)(filters)

    return read


EXPORTS: dict[str, Callable[[Filters], Csv]] = {
    "revenue": lambda f: csv_of(REVENUE_COLUMNS, S.sales_by_day(f)),
    "roas-by-channel": lambda f: csv_of(ROAS_COLUMNS, S.roas_by_channel(f)),
    "conversion-by-source": lambda f: csv_of(CONVERSION_COLUMNS, S.conversion_by_source(f)),
    "time-to-purchase": lambda f: time_to_purchase_csv(S.time_to_purchase(f)),
    "shop-funnel": lambda f: _export_funnel(S.shop_funnel(f), SHOP_STEP_LABELS),
    "lead-funnel": lambda f: _export_funnel(S.lead_funnel(f), LEAD_STEP_LABELS),
    "cohort-retention": _export_cohorts,
    "rfm-grid": lambda f: rfm_csv(S.rfm_grid()),
    "p-alive": _export_alive,
    "forecast": _export_forecast,
    "campaigns": lambda f: csv_of(CAMPAIGN_COLUMNS, S.roas_by_channel(f, by_campaign=True)),
    "journeys": lambda f: csv_of(
        JOURNEY_COLUMNS, journey_records(_engagement("journey_performance")(f))
    ),
    "messages": lambda f: csv_of(
        MESSAGE_CSV_COLUMNS, message_records(_engagement("message_rates")(f), {})
    ),
    "traffic": lambda f: csv_of(TRAFFIC_COLUMNS, traffic_records(S.traffic_by_day(f))),
    "attribution-models": lambda f: csv_of(
        attribution_columns(csv=True), attribution_records(S.attribution_comparison(f))
    ),
    "top-products": lambda f: csv_of(
        TOP_PRODUCT_CSV_COLUMNS, top_product_records(_products("top_products")(f))
    ),
    "segment-growth": lambda f: csv_of(
        SEGMENT_COLUMNS, segment_records(_products("segment_growth")(f))
    ),
    "speed-to-lead": lambda f: csv_of(
        SPEED_CSV_COLUMNS, speed_records(_engagement("speed_to_lead")(f))
    ),
    "cadences": lambda f: csv_of(
        CADENCE_COLUMNS, cadence_records(_engagement("cadence_performance")(f))
    ),
}
