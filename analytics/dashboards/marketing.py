"""The marketer's dashboard (/dashboards/marketing/): campaigns, journeys, e-mail and SMS,
traffic, attribution models, top products and segment growth, each read once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.utils.translation import gettext as _

from analytics import selectors_sales as S
from analytics.dashboards import figures_marketing as F
from analytics.dashboards import format as fmt
from analytics.dashboards.parts import (
    Can,
    Card,
    Chart,
    Kpis,
    new_chart,
    no_orders,
    no_sessions,
    no_spend,
    orders_url,
    paid_roas,
    signed,
    spend_url,
    url,
)
from analytics.dashboards.tables import Cell, table_of
from analytics.definitions import DEFINITIONS
from analytics.filters import Filters
from automations.models.delivery import MESSAGE_CHANNELS

# --- Marketer -------------------------------------------------------------------------------


def marketing_read(filters: Filters) -> dict[str, Any]:
    from analytics import selectors_engagement as E
    from analytics import selectors_products as P

    data: dict[str, Any] = {
        "campaigns": S.roas_by_channel(filters, by_campaign=True),
        "channels": S.roas_by_channel(filters),
        "traffic": S.traffic_totals(filters),
        "traffic_by_day": S.traffic_by_day(filters),
        "attribution": S.attribution_comparison(filters),
        "journeys": E.journey_performance(filters),
        "messages": E.message_rates(filters),
        "surveys": E.survey_scores(filters),
        "top": P.top_products(filters),
        "segments": P.segment_growth(filters),
        "previous": None,
    }
    if filters.compare:
        before = filters.previous()
        data["previous"] = {
            "channels": S.roas_by_channel(before),
            "traffic": S.traffic_totals(before),
            "surveys": E.survey_scores(before),
        }
    return data


def marketing_cards(data: dict[str, Any], filters: Filters, currency: str, can: Can) -> list[Card]:
    spend, revenue, roas = paid_roas(data["channels"])
    traffic, surveys = data["traffic"], data["surveys"]
    prev = data["previous"] or {}
    p_spend, p_revenue, p_roas = paid_roas(prev["channels"]) if prev else (None, None, None)
    p_traffic, p_surveys = prev.get("traffic") or {}, prev.get("surveys")
    d = DEFINITIONS
    campaigns: dict[str, Any] = {"url": "#chart-campaigns", "url_label": _("See the campaigns")}
    traffic_link: dict[str, Any] = {"url": "#chart-traffic", "url_label": _("See traffic by day")}
    spend_link: dict[str, Any] = (
        {"url": spend_url(filters), "url_label": _("See the ad spend")} if can.spend else {}
    )
    clicks = sum(int(r["clicks"]) for r in data["channels"])
    kpis = Kpis(bool(prev))
    kpis.add(
        "spend",
        _("Ad spend"),
        spend,
        p_spend,
        fmt.money,
        better="down",
        unit=currency,
        note=_("%(clicks)s clicks") % {"clicks": fmt.count(clicks)},
        definition=d["campaigns"],
        **spend_link,
    )
    kpis.add(
        "attributed_revenue",
        _("Attributed revenue"),
        revenue,
        p_revenue,
        fmt.money,
        unit=currency,
        note=_("on the channels with ad spend, %(model)s")
        % {"model": fmt.MODEL_LABELS[filters.model]},
        definition=d["roas"],
        **campaigns,
    )
    kpis.add("roas", d["roas"].title, roas, p_roas, fmt.multiple, definition=d["roas"], **campaigns)
    kpis.add(
        "sessions",
        _("Sessions"),
        traffic["sessions"],
        p_traffic.get("sessions"),
        fmt.count,
        note=_("%(n)s visitor-days") % {"n": fmt.count(traffic["visitors"])},
        definition=d["traffic"],
        **traffic_link,
    )
    kpis.add(
        "bounce_rate",
        _("Bounce rate"),
        traffic["bounce_rate"],
        p_traffic.get("bounce_rate"),
        fmt.pct,
        rate=True,
        better="down",
        note=_("%(n)s single-page sessions") % {"n": fmt.count(traffic["bounces"])},
        definition=d["traffic"],
        **traffic_link,
    )
    kpis.add(
        "nps",
        d["nps"].title,
        surveys.nps.nps,
        p_surveys and p_surveys.nps.nps,
        signed,
        note=_("%(n)s answers: %(p)s promoters, %(d)s detractors")
        % {
            "n": fmt.count(surveys.nps.answers),
            "p": fmt.count(surveys.nps.promoters),
            "d": fmt.count(surveys.nps.detractors),
        },
        definition=d["nps"],
    )
    csat = surveys.csat.csat
    kpis.add(
        "csat",
        d["csat"].title,
        None if csat is None else csat / 100,
        None if p_surveys is None or p_surveys.csat.csat is None else p_surveys.csat.csat / 100,
        fmt.pct,
        rate=True,
        note=_("%(n)s answers") % {"n": fmt.count(surveys.csat.answers)},
        definition=d["csat"],
    )
    return kpis.cards


def marketing_charts(
    data: dict[str, Any], filters: Filters, currency: str, can: Can
) -> list[Chart]:
    charts = []
    model = fmt.MODEL_LABELS[filters.model]

    rows = data["campaigns"]
    chart = new_chart(
        "campaigns",
        _("Campaign performance"),
        "campaigns",
        filters,
        wide=True,
        intro=_("Attribution model: %(model)s. Amounts in %(currency)s.")
        % {"model": model, "currency": currency},
        label=_("Ad spend and attributed revenue per campaign"),
        **(
            {"drill_url": spend_url(filters), "drill_label": _("See the ad spend")}
            if can.spend
            else {}
        ),
    )
    if rows:
        chart.table = table_of(F.CAMPAIGN_COLUMNS, rows)
        chart.figure = F.campaigns_figure(rows, currency)
        if not any(r["spend"] for r in rows):
            chart.note = " ".join(no_spend())
    else:
        chart.empty((_("No ad spend and no attributed orders in this period."), no_spend()[1]))
    charts.append(chart)

    records = F.journey_records(data["journeys"])
    chart = new_chart(
        "journeys",
        _("Journey performance"),
        "journeys",
        filters,
        intro=_("Runs started in the period and the share that reached the journey's goal so far."),
        label=_("Goal conversion per journey"),
        **(
            {"drill_url": url("journeys"), "drill_label": _("See the journeys")}
            if can.journeys
            else {}
        ),
    )
    chart.figure = F.journey_figure(records)
    if records:
        links = (
            {"journey": lambda r: url("journey_results", args=[r["id"]])} if can.journeys else {}
        )
        chart.table = table_of(F.JOURNEY_COLUMNS, records, links=links)
    if chart.figure is None:
        chart.empty(
            (
                _("No journey run started in this period."),
                _(
                    "Publish a trigger journey under Journeys (abandoned cart, welcome series …); runs start as contacts do what triggers it."
                ),
            )
        )
    charts.append(chart)

    records = F.message_records(data["messages"], dict(MESSAGE_CHANNELS))
    chart = new_chart(
        "messages",
        _("E-mail and SMS metrics"),
        "messages",
        filters,
        intro=_(
            "Rates of the messages sent in the period; SMS report no opens, clicks or bounces."
        ),
        label=_("Delivery, open, click, unsubscribe and bounce rates per channel"),
        **(
            {"drill_url": url("deliveries"), "drill_label": _("See the outbox")}
            if can.outbox
            else {}
        ),
    )
    chart.figure = F.message_figure(records)
    if chart.figure is not None:
        links = (
            {"channel": lambda r: url("deliveries", urlencode({"channel": r["channel"]}))}
            if can.outbox
            else {}
        )
        chart.table = table_of(F.MESSAGE_COLUMNS, records, links=links)
    else:
        chart.empty(
            (
                _("No e-mail or SMS sent in this period."),
                _(
                    "Journeys and cadences send messages once a provider is set up (or to the local outbox without one)."
                ),
            )
        )
    charts.append(chart)

    records = F.traffic_records(data["traffic_by_day"])
    traffic = data["traffic"]
    chart = new_chart(
        "traffic",
        _("Traffic and bounce rate"),
        "traffic",
        filters,
        wide=True,
        label=_("Sessions and bounce rate per day"),
    )
    chart.figure = F.traffic_figure(records)
    if chart.figure is not None:
        chart.table = table_of(F.TRAFFIC_COLUMNS, records)
        totals = (traffic["sessions"], traffic["bounces"])
        chart.table.foot = [
            [
                Cell(_("Total")),
                *(Cell(fmt.count(n)) for n in totals),
                Cell(fmt.pct(traffic["bounce_rate"])),
            ]
        ]
    else:
        chart.empty(no_sessions())
    charts.append(chart)

    records = F.attribution_records(data["attribution"])
    chart = new_chart(
        "attribution-models",
        _("Attribution model comparison"),
        "attribution",
        filters,
        wide=True,
        intro=_(
            "Net revenue credited to each channel under every model (%(currency)s); ✓ marks the model the other figures use."
        )
        % {"currency": currency},
        label=_("Attributed revenue per channel, one bar per model"),
        drill_url=orders_url(filters),
        drill_label=_("See the orders"),
    )
    chart.figure = F.attribution_figure(records, filters.model, currency)
    if chart.figure is not None:
        chart.table = table_of(F.attribution_columns(), records)
    else:
        chart.empty(no_orders())
    charts.append(chart)

    top = data["top"]
    chart = new_chart(
        "top-products",
        _("Top products"),
        "top_products",
        filters,
        wide=True,
        label=_("Most viewed, most bought and most abandoned products"),
    )
    chart.figure = F.top_products_figure(top)
    if chart.figure is not None:
        chart.table = F.top_products_table(top)
    else:
        chart.empty(
            (
                _("No product viewed, added to a cart or bought in this period."),
                _(
                    "Product views and carts come from the tracking snippet's Product Viewed and Product Added events; purchases from the shop's orders."
                ),
            )
        )
    charts.append(chart)

    records = F.segment_records(data["segments"])
    chart = new_chart(
        "segment-growth",
        _("Segment growth"),
        "segment_growth",
        filters,
        intro=_("The ten largest segments and personas: who entered and who left in the period."),
        label=_("Contacts entering and leaving each segment"),
        **(
            {"drill_url": url("segments"), "drill_label": _("See the segments")}
            if can.segments
            else {}
        ),
    )
    chart.figure = F.segment_figure(records)
    if chart.figure is not None:
        links = {"segment": lambda r: url("segment_detail", args=[r["id"]])} if can.segments else {}
        chart.table = table_of(F.SEGMENT_COLUMNS, records, links=links)
    else:
        chart.empty(
            (
                _("No segment has members yet."),
                _(
                    "Marketers build segments and personas under Segments; the RFM segments fill themselves from orders."
                ),
            )
        )
    charts.append(chart)
    return charts
