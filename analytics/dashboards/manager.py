"""The manager's dashboard (/dashboards/): sales, acquisition cost, ROAS, conversion, the
funnels, retention, RFM, predictive CLV and the forecast, each read once."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from analytics import selectors_sales as S
from analytics.dashboards import figures_manager as F
from analytics.dashboards import format as fmt
from analytics.dashboards.parts import (
    Card,
    Chart,
    Kpis,
    contacts_url,
    new_chart,
    no_orders,
    no_sessions,
    no_spend,
    orders_url,
    paid_roas,
    url,
)
from analytics.dashboards.tables import Cell, table_of
from analytics.definitions import DEFINITIONS
from analytics.filters import Filters
from growth.formats.localized import local_date, local_datetime

# --- Manager --------------------------------------------------------------------------------


def manager_read(filters: Filters) -> dict[str, Any]:
    """Every selector the manager's page needs, each once."""
    from analytics.selectors_clv import predictive_clv
    from analytics.selectors_forecast import forecast

    sales = S.sales_totals(filters)
    traffic = S.traffic_totals(filters)
    data: dict[str, Any] = {
        "sales": sales,
        "acquisition": S.acquisition(filters, sales),
        "roas": S.roas_by_channel(filters),
        "by_day": S.sales_by_day(filters),
        "conversion": S.conversion_by_source(filters),
        "ttp": S.time_to_purchase(filters),
        "traffic": traffic,
        "shop_funnel": S.shop_funnel(filters, traffic),
        "lead_funnel": S.lead_funnel(filters),
        "cohorts": S.cohort_retention(filters),
        "rfm": S.rfm_grid(),
        "forecast": forecast(filters),
        "clv": predictive_clv(filters),
        "previous": None,
    }
    if filters.compare:
        before = filters.previous()
        prev_sales = S.sales_totals(before)
        data["previous"] = {
            "sales": prev_sales,
            "acquisition": S.acquisition(before, prev_sales),
            "roas": S.roas_by_channel(before),
            "by_day": S.sales_by_day(before),
        }
    return data


def _clv_note(clv: dict[str, Any]) -> str:
    fit = clv["fit"]
    if fit is None:
        return _(
            "Not fitted yet: the models are fitted every night once there are enough customers."
        )
    if fit.error:
        return _("No prediction: %(why)s") % {"why": fit.error}
    weeks = round(fit.unit_days * fit.horizon / 7)
    return _("over the next %(weeks)s weeks; alive %(alive)s, %(orders)s orders expected") % {
        "weeks": weeks,
        "alive": fmt.pct(clv["new_alive"]),
        "orders": fmt.decimal(clv["new_orders"], 1),
    }


def manager_cards(data: dict[str, Any], filters: Filters, currency: str) -> list[Card]:
    sales, acq = data["sales"], data["acquisition"]
    spend, paid_revenue, roas = paid_roas(data["roas"])
    prev = data["previous"] or {}
    p_sales, p_acq = prev.get("sales"), prev.get("acquisition")
    p_roas = paid_roas(prev["roas"])[2] if prev else None

    def was(obj: Any, name: str) -> Any:
        return getattr(obj, name) if obj is not None else None

    d = DEFINITIONS
    all_orders: dict[str, Any] = {"url": orders_url(filters), "url_label": _("See the orders")}
    new_orders: dict[str, Any] = {
        "url": orders_url(filters, "new"),
        "url_label": _("See the new customers"),
    }
    money: dict[str, Any] = {"unit": currency}
    kpis = Kpis(bool(prev))
    kpis.add(
        "net_revenue",
        d["net_revenue"].title,
        sales.net,
        was(p_sales, "net"),
        fmt.money,
        note=_("gross %(gross)s, refunds %(refunds)s")
        % {"gross": fmt.money(sales.gross), "refunds": fmt.money(sales.refunds)},
        definition=d["net_revenue"],
        **money,
        **all_orders,
    )
    kpis.add(
        "orders",
        d["orders"].title,
        sales.orders,
        was(p_sales, "orders"),
        fmt.count,
        definition=d["orders"],
        **all_orders,
    )
    kpis.add(
        "aov",
        d["aov"].title,
        sales.aov,
        was(p_sales, "aov"),
        fmt.money,
        definition=d["aov"],
        **money,
        **all_orders,
    )
    kpis.add(
        "new_customers",
        d["new_customers"].title,
        sales.new_customers,
        was(p_sales, "new_customers"),
        fmt.count,
        definition=d["new_customers"],
        **new_orders,
    )
    kpis.add(
        "cac",
        d["cac"].title,
        acq.cac,
        was(p_acq, "cac"),
        fmt.money,
        better="down",
        note=_("%(cost)s spent (ads %(ads)s, other %(other)s) for %(n)s new customers")
        % {
            "cost": fmt.money(acq.spend.total),
            "ads": fmt.money(acq.spend.ads),
            "other": fmt.money(acq.spend.other),
            "n": fmt.count(acq.new_customers),
        },
        definition=d["cac"],
        **money,
        **new_orders,
    )
    kpis.add(
        "clv",
        d["clv"].title,
        acq.clv,
        was(p_acq, "clv"),
        fmt.money,
        note=_("net revenue to date per new customer of the period"),
        definition=d["clv"],
        **money,
        **new_orders,
    )
    clv = data["clv"]
    kpis.add(
        "predictive_clv",
        d["predictive_clv"].title,
        clv["new_clv"],
        None,
        fmt.money,
        comparable=False,
        note=_clv_note(clv),
        definition=d["predictive_clv"],
        url="#chart-p-alive",
        url_label=_("See the customers by probability alive"),
        **money,
    )
    kpis.add(
        "clv_to_cac",
        d["clv_to_cac"].title,
        acq.clv_to_cac,
        was(p_acq, "clv_to_cac"),
        fmt.multiple,
        definition=d["clv_to_cac"],
        **new_orders,
    )
    kpis.add(
        "roas",
        d["roas"].title,
        roas,
        p_roas,
        fmt.multiple,
        note=_("%(revenue)s attributed (%(model)s) on %(spend)s of ad spend")
        % {
            "revenue": fmt.money(paid_revenue),
            "model": fmt.MODEL_LABELS[filters.model],
            "spend": fmt.money(spend),
        },
        definition=d["roas"],
        url="#chart-roas-by-channel",
        url_label=_("See ROAS by channel"),
    )
    kpis.add(
        "returns_rate",
        d["returns_rate"].title,
        sales.returns_rate,
        was(p_sales, "returns_rate"),
        fmt.pct,
        rate=True,
        better="down",
        note=_("%(n)s of %(orders)s orders")
        % {"n": fmt.count(sales.returned_orders), "orders": fmt.count(sales.orders)},
        definition=d["returns_rate"],
        url=orders_url(filters, "returned"),
        url_label=_("See the returned orders"),
    )
    return kpis.cards


def manager_charts(data: dict[str, Any], filters: Filters, currency: str) -> list[Chart]:
    sales = data["sales"]
    prev = data["previous"]
    charts = []

    chart = new_chart(
        "revenue",
        _("Revenue by day (%(currency)s)") % {"currency": currency},
        "revenue",
        filters,
        drill_url=orders_url(filters),
        drill_label=_("See the orders"),
        label=_("Net revenue and orders per day"),
        wide=True,
    )
    if sales.orders:
        chart.figure = F.revenue_figure(data["by_day"], currency, prev and prev["by_day"])
        chart.table = table_of(F.REVENUE_COLUMNS, data["by_day"])
        totals = (sales.orders, sales.new_customers)
        chart.table.foot = [
            [
                Cell(_("Total")),
                *(Cell(fmt.count(n)) for n in totals),
                Cell(fmt.money(sales.gross)),
                Cell(fmt.money(sales.net)),
            ]
        ]
    else:
        chart.empty(no_orders())
    charts.append(chart)

    rows = data["roas"]
    chart = new_chart(
        "roas-by-channel",
        _("ROAS by channel"),
        "roas",
        filters,
        intro=_("Attribution model: %(model)s. Amounts in %(currency)s.")
        % {"model": fmt.MODEL_LABELS[filters.model], "currency": currency},
        label=_("Return on ad spend per channel"),
        drill_url=orders_url(filters),
        drill_label=_("See the orders"),
    )
    if rows:
        chart.table = table_of(F.ROAS_COLUMNS, rows)
        chart.figure = F.roas_figure(rows)
    if chart.figure is None:
        chart.empty(no_spend())
    charts.append(chart)

    rows = data["conversion"]
    chart = new_chart(
        "conversion-by-source",
        _("Conversion rate by source"),
        "conversion",
        filters,
        drill_url=contacts_url(filters),
        drill_label=_("See the new contacts"),
        intro=_("Each source in the table links to its new contacts of the period."),
        label=_("Session and contact conversion per source"),
    )
    if rows:
        links = {"channel": lambda r: contacts_url(filters, r["channel"])}
        chart.table = table_of(F.CONVERSION_COLUMNS, rows, links=links)
        chart.figure = F.conversion_figure(rows)
    if chart.figure is None:
        chart.empty(no_sessions())
    charts.append(chart)

    ttp = data["ttp"]
    chart = new_chart(
        "time-to-purchase",
        _("Time to purchase"),
        "time_to_purchase",
        filters,
        drill_url=orders_url(filters, "new"),
        drill_label=_("See the new customers"),
        label=_("New customers by time from first contact to first order"),
    )
    if ttp["customers"]:
        chart.facts = [
            (_("median"), fmt.days(ttp["median"])),
            (_("p75"), fmt.days(ttp["p75"])),
            (_("p90"), fmt.days(ttp["p90"])),
            (_("new customers"), fmt.count(ttp["customers"])),
        ]
        chart.figure = F.time_to_purchase_figure(ttp)
        chart.table = table_of(F.TIME_TO_PURCHASE_COLUMNS, F.time_to_purchase_records(ttp))
        chart.table.foot = [[Cell(label), Cell(value)] for label, value in chart.facts[:3]]
    else:
        chart.empty((_("No new customers in this period."), no_orders()[1]))
    charts.append(chart)

    no_stages = (
        _("No contact reached a lifecycle stage in this period."),
        _(
            "Contacts become leads, MQLs and SQLs by the definitions under Scoring, and "
            "customers by ordering; capture sign-ups with the tracking snippet or import contacts."
        ),
    )
    funnels = (
        (
            "shop-funnel",
            _("Shop funnel"),
            "shop_funnel",
            data["shop_funnel"],
            F.SHOP_STEP_LABELS,
            no_sessions(),
        ),
        (
            "lead-funnel",
            _("Lead funnel"),
            "lead_funnel",
            data["lead_funnel"],
            F.LEAD_STEP_LABELS,
            no_stages,
        ),
    )
    for key, title, definition, steps, labels, empty in funnels:
        records = F.funnel_records(steps, labels)
        chart = new_chart(key, title, definition, filters, label=title)
        chart.drill_url, chart.drill_label = url("dashboards_targets"), _("Set the targets")
        chart.figure = F.funnel_figure(records)
        if chart.figure is not None:
            chart.table = F.funnel_table(records)
            if not any(r["target"] is not None for r in records):
                chart.note = _("No targets are set for this funnel's steps.")
            else:
                chart.intro = _(
                    "The marks are the counts each step needs to meet its target conversion."
                )
        else:
            chart.empty(empty)
        charts.append(chart)

    months, records = F.cohort_records(data["cohorts"])
    chart = new_chart(
        "cohort-retention",
        _("Cohort retention"),
        "cohort_retention",
        filters,
        wide=True,
        intro=_(
            "Share of each month's new customers who ordered again 1, 2, … months later (%); "
            "the number after the month is the cohort's size."
        ),
        label=_("Retention per first-order month"),
    )
    chart.figure = F.cohort_figure(months, records)
    if chart.figure is not None:
        chart.table = table_of(F.cohort_columns(months), records)
    else:
        chart.empty(
            (_("No customers in the twelve months up to this period's end."), no_orders()[1])
        )
    charts.append(chart)

    grid = data["rfm"]
    chart = new_chart(
        "rfm-grid",
        _("RFM grid"),
        "rfm_grid",
        filters,
        intro=_("All customers, whatever the period and filters."),
        label=_("Customers per recency and frequency score"),
    )
    chart.figure = F.rfm_figure(grid)
    if chart.figure is not None:
        chart.table = F.rfm_table(grid)
    else:
        chart.empty(
            (
                _("No customer has an RFM score yet."),
                _(
                    "Scores are computed from customers' orders by the regular RFM computation; they appear once orders have arrived and it has run."
                ),
            )
        )
    charts.append(chart)

    clv = data["clv"]
    records = F.alive_records(clv)
    chart = new_chart(
        "p-alive",
        _("Customers by probability alive"),
        "predictive_clv",
        filters,
        label=_("Customers per probability of still being a customer"),
    )
    chart.figure = F.alive_figure(records) if clv["fit"] is not None else None
    if chart.figure is not None:
        chart.facts = [
            (_("customers with a prediction"), fmt.count(clv["customers"])),
            (
                _("mean predicted CLV (%(currency)s)") % {"currency": currency},
                fmt.money(clv["clv"]),
            ),
            (_("mean probability alive"), fmt.pct(clv["alive"])),
            (_("orders expected"), fmt.decimal(clv["orders"], 1)),
        ]
        chart.intro = _("Fitted %(at)s on %(n)s customers.") % {
            "at": local_datetime(clv["fit"].fitted_at),
            "n": fmt.count(clv["fit"].customers),
        }
        chart.table = table_of(F.ALIVE_COLUMNS, records)
    else:
        chart.empty(
            (
                _("No predictions yet."),
                _clv_note(clv)
                if clv["fit"] is not None and clv["fit"].error
                else _(
                    "Predictive CLV is fitted every night from customers' orders (or run manage.py "
                    "analytics_clv_fit); it needs repeat buyers."
                ),
            )
        )
    charts.append(chart)

    fc = data["forecast"]
    chart = new_chart(
        "forecast",
        _("Forecast for the next period"),
        "forecast",
        filters,
        label=_("Net revenue and orders per period, with the next period's forecast"),
    )
    chart.figure = F.forecast_figure(fc, currency)
    if chart.figure is not None:
        between = _("%(value)s (%(low)s to %(high)s)")
        chart.facts = [
            (
                _("orders, %(start)s to %(end)s")
                % {"start": local_date(fc.next_start), "end": local_date(fc.next_end)},
                between
                % {
                    "value": fmt.count(round(fc.orders.value)),
                    "low": fmt.count(round(fc.orders.low)),
                    "high": fmt.count(round(fc.orders.high)),
                },
            ),
            (
                _("net revenue (%(currency)s)") % {"currency": currency},
                between
                % {
                    "value": fmt.money(fc.net.value),
                    "low": fmt.money(fc.net.low),
                    "high": fmt.money(fc.net.high),
                },
            ),
        ]
        chart.table = table_of(F.FORECAST_COLUMNS, F.forecast_records(fc))
    else:
        chart.empty(
            (
                _("Too little history for a forecast."),
                _(
                    "The forecast needs orders in at least three periods as long as this one; choose a shorter period, or wait for more orders."
                ),
            )
        )
    charts.append(chart)
    return charts
