# ruff: noqa: RUF001  (texts for people: the multiplication and minus signs are meant)
"""What every figure on the dashboards means, and how Growth computes it.

`contract` is the definition every team shares (MISSION.md's KPI table, word for word where
it has one); `computed` says which table the number is read from and the formula, so a
reader can check any figure by hand. The dashboards show both under "How is this
computed?", and /dashboards/definitions/ lists them all.

The texts name settings (reporting currency and time zone, attribution lookback and
half-life) through placeholders filled in when shown, so they never go stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from growth.currency import base_currency


@dataclass(frozen=True)
class Definition:
    key: str
    title: Promise
    contract: Promise  # what the figure means, for everyone
    computed: Promise  # where it is read from and the formula
    tables: tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        return f"def-{self.key}"

    def computed_text(self) -> str:
        return str(self.computed) % placeholders()


def placeholders() -> dict[str, Any]:
    return {
        "currency": base_currency(),
        "zone": settings.GROWTH_REPORTING_TIME_ZONE,
        "lookback": settings.GROWTH_ATTRIBUTION_LOOKBACK_DAYS,
        "half_life": settings.GROWTH_ATTRIBUTION_HALF_LIFE_DAYS,
    }


def _join(*parts: Promise) -> Promise:
    """Sentences translated one by one, joined when shown (concatenating lazy strings
    would translate them once, at import)."""
    return format_lazy(" ".join("{}" for _part in parts), *parts)


# Shared phrases of the texts below.
_PLACED = _(
    "A placed order is any order that is not pending; a day is a calendar day in the "
    "reporting time zone (%(zone)s); money is converted to %(currency)s at the rate stored "
    "with each order."
)
_ROLLUP = _(
    "Read from the daily rollup (one row per day, first-touch channel and campaign of the "
    "buyer), kept current by the pipeline; with a segment or persona chosen, straight from the "
    "orders of its current members."
)

DEFINITIONS: dict[str, Definition] = {
    d.key: d
    for d in (
        Definition(
            key="net_revenue",
            title=_("Net revenue"),
            contract=_("Revenue with refunds and cancellations taken out."),
            computed=_join(
                _(
                    "Sum over the placed orders of the period of (total − refunded total) × rate; "
                    "a cancelled order counts 0. A refund that arrives later changes the figure "
                    "of the day the order was placed."
                ),
                _PLACED,
                _ROLLUP,
            ),
            tables=("analytics_salesday", "leads_order"),
        ),
        Definition(
            key="orders",
            title=_("Orders"),
            contract=_("Orders placed in the period."),
            computed=_join(
                _("Count of the placed orders of the period, cancelled ones included."),
                _PLACED,
                _ROLLUP,
            ),
            tables=("analytics_salesday", "leads_order"),
        ),
        Definition(
            key="aov",
            title=_("Average order value (AOV)"),
            contract=_("Average order value."),
            computed=_join(
                _(
                    "Gross revenue (total × rate, before refunds) ÷ placed orders, rounded to the "
                    "cent; a dash when there is no order."
                ),
                _PLACED,
            ),
            tables=("analytics_salesday",),
        ),
        Definition(
            key="new_customers",
            title=_("New customers"),
            contract=_("Contacts whose first order falls in the period."),
            computed=_(
                "Contacts whose first order that is neither pending nor cancelled was placed "
                "in the period (ties broken by order id). An earlier order arriving late moves "
                "the customer to that order's day. Read from the customer facts "
                "(analytics_customerfact.first_order_id) through the daily sales rollup."
            ),
            tables=("analytics_customerfact", "analytics_salesday"),
        ),
        Definition(
            key="cac",
            title=_("Customer acquisition cost (CAC)"),
            contract=_(
                "(Ad spend + other acquisition cost) ÷ new customers (first order in the period)."
            ),
            computed=_(
                "Ad spend of the period in %(currency)s (analytics_adspend.cost_base) plus other "
                "acquisition costs (agency fees, tools: analytics_othercost), each spread evenly "
                "over its days and counted for the days inside the period; costs booked to no "
                "channel count only when no channel, source or campaign is chosen. Divided by "
                "the new customers of the period, rounded to the cent; a dash without new "
                "customers."
            ),
            tables=("analytics_adspend", "analytics_othercost", "analytics_salesday"),
        ),
        Definition(
            key="clv",
            title=_("Customer lifetime value (historical)"),
            contract=_("Historical: net revenue per customer over its life."),
            computed=_(
                "Average, over the customers whose first order is in the period, of their net "
                "revenue to date (every order since the first, refunds taken out), from the "
                "customer facts (analytics_customerfact.net)."
            ),
            tables=("analytics_customerfact",),
        ),
        Definition(
            key="clv_to_cac",
            title=_("CLV : CAC"),
            contract=_("What a new customer brings in for each unit it cost to acquire."),
            computed=_("Historical CLV ÷ CAC of the same period and filters; a dash without CAC."),
            tables=("analytics_customerfact", "analytics_adspend", "analytics_othercost"),
        ),
        Definition(
            key="roas",
            title=_("Return on ad spend (ROAS)"),
            contract=_("Attributed revenue ÷ ad spend."),
            computed=_(
                "Net revenue of the period's orders credited to a channel under the chosen "
                "attribution model (analytics_attributionday), ÷ that channel's ad spend "
                "(analytics_adspend.cost_base). The overall figure adds up the channels that "
                "have ad spend: revenue credited to unpaid channels (direct, organic, e-mail) "
                "is left out. A dash without ad spend."
            ),
            tables=("analytics_attributionday", "analytics_adspend"),
        ),
        Definition(
            key="returns_rate",
            title=_("Returns rate"),
            contract=_("Refunded or cancelled orders ÷ orders."),
            computed=_join(
                _(
                    "Placed orders that were cancelled, refunded or partly refunded ÷ placed "
                    "orders of the period."
                ),
                _ROLLUP,
            ),
            tables=("analytics_salesday",),
        ),
        Definition(
            key="revenue",
            title=_("Revenue by day"),
            contract=_("Net revenue and orders per day."),
            computed=_join(
                _(
                    "Per day of the period (days without orders as zero): net revenue and placed "
                    "orders, as in the cards. With comparison on, the previous period is drawn "
                    "day by day under it."
                ),
                _ROLLUP,
            ),
            tables=("analytics_salesday", "leads_order"),
        ),
        Definition(
            key="conversion",
            title=_("Conversion rate by source"),
            contract=_("Contacts or sessions from a source that ordered ÷ all from that source."),
            computed=_(
                "Sessions: sessions started in the period from the channel that reached an "
                "order ÷ its sessions (analytics_trafficday). Contacts: contacts created in the "
                "period with that first-touch channel who are customers to date ÷ those "
                "contacts; a contact with no channel counts as direct, merged and erased "
                "contacts do not count (analytics_contactday, kept from leads_contact and "
                "analytics_customerfact; with a segment filter, read from those directly)."
            ),
            tables=(
                "analytics_trafficday",
                "analytics_contactday",
                "leads_contact",
                "analytics_customerfact",
            ),
        ),
        Definition(
            key="time_to_purchase",
            title=_("Time to purchase"),
            contract=_("First contact → first order, as a distribution (median, p75, p90)."),
            computed=_(
                "For the new customers of the period: first order time − first seen time (the "
                "earlier of the contact's creation and its first order), in days. Median, p75 "
                "and p90 are interpolated percentiles (PostgreSQL percentile_cont); the bars "
                "count customers per range. From analytics_customerfact; the shipped periods "
                "ending today (all channels and each channel) from analytics_purchasetimesummary, "
                "computed the same way with the cohorts, at most once a minute."
            ),
            tables=("analytics_customerfact", "analytics_purchasetimesummary"),
        ),
        Definition(
            key="shop_funnel",
            title=_("Shop funnel"),
            contract=_(
                "Visit → product view → cart → checkout → order: conversion and drop-off at "
                "every step."
            ),
            computed=_(
                "Sessions started in the period, and how many of them reached each step (a "
                "Product Viewed, Product Added, Checkout Started or Order Completed event in "
                "the session, or a later step). A session also reached the order when its "
                "buyer placed one during the visit or within the 30 idle minutes after it "
                "(orders the shop sends by webhook). Conversion is the step ÷ the step before; "
                "drop-off is 1 − conversion. From analytics_trafficday."
            ),
            tables=("analytics_trafficday", "leads_session", "leads_event", "leads_order"),
        ),
        Definition(
            key="lead_funnel",
            title=_("Lead funnel"),
            contract=_("Lead → MQL → SQL → customer: conversion and drop-off at every step."),
            computed=_(
                "Contacts that reached each stage for the first time ever during the period "
                "(a contact that skipped a stage counts for it too), from the recorded stage "
                "changes (analytics_stageday, leads_stagechange). Each step is counted in the "
                "period on its own, so a step can exceed the one before when leads of earlier "
                "periods convert now."
            ),
            tables=("analytics_stageday", "leads_stagechange"),
        ),
        Definition(
            key="cohort_retention",
            title=_("Cohort retention"),
            contract=_(
                "Of the customers whose first order was in a month, the share ordering again."
            ),
            computed=_(
                "Customers grouped by the month of their first order (the 12 months up to the "
                "period's end); for each later month, the share of the cohort with an order in "
                "it (month 0 is the first order's month). From analytics_cohortmonth, "
                "recomputed at most once a minute. The campaign and segment filters do not "
                "apply."
            ),
            tables=("analytics_cohortmonth",),
        ),
        Definition(
            key="rfm_grid",
            title=_("RFM grid"),
            contract=_("Customers by how recently and how often they bought."),
            computed=_(
                "Every customer scored 1 to 5 on recency (last order) and frequency (orders) "
                "against the quintile cutoffs of the last RFM computation (leads_rfmcutoffs); "
                "each cell counts the customers with those scores. All customers: the period "
                "and the filters do not apply. From analytics_rfmcell, scored again with the "
                "cohorts (at most once a minute) and as soon as new cutoffs are computed."
            ),
            tables=("analytics_rfmcell", "analytics_customerfact", "leads_rfmcutoffs"),
        ),
        Definition(
            key="forecast",
            title=_("Forecast"),
            contract=_("Next period's orders and revenue from history, with an interval."),
            computed=_(
                "History is cut into periods as long as the one shown, ending with it (up to "
                "12); a straight line is fitted to orders and to net revenue by least squares "
                "and read one period on, with an 80 %% prediction interval. Needs at least 3 "
                "periods with orders."
            ),
            tables=("analytics_salesday",),
        ),
        Definition(
            key="campaigns",
            title=_("Campaign performance"),
            contract=_("What each campaign cost and what it brought in."),
            computed=_(
                "Per channel and campaign: ad spend in %(currency)s, clicks and impressions "
                "(analytics_adspend), orders and net revenue credited to it under the chosen "
                "attribution model (analytics_attributionday; a shared order gives each "
                "touchpoint a fraction), and ROAS = credited revenue ÷ spend."
            ),
            tables=("analytics_adspend", "analytics_attributionday"),
        ),
        Definition(
            key="traffic",
            title=_("Traffic and bounce rate"),
            contract=_("Single-page sessions ÷ sessions; visitors and sessions."),
            computed=_(
                "Sessions started per day; a bounce is a session with at most one page view; "
                "bounce rate = bounces ÷ sessions. Visitors are distinct contacts per day, "
                "added up over the days. From analytics_trafficday; the segment filter does "
                "not apply."
            ),
            tables=("analytics_trafficday", "leads_session"),
        ),
        Definition(
            key="attribution",
            title=_("Attribution model comparison"),
            contract=_(
                "Who gets the credit for an order: first touch (default), last touch, linear, "
                "position-based or time decay."
            ),
            computed=_(
                "An order's touchpoints are its buyer's sessions and message clicks in the "
                "%(lookback)s days before it. First and last touch give the whole order to one "
                "touchpoint; linear splits it evenly; position-based gives 40 %% to the first "
                "and the last and shares 20 %% among the middle; time decay halves a "
                "touchpoint's weight every %(half_life)s days before the order. An order with "
                "no touchpoint goes to direct. Net revenue credited per channel, from "
                "analytics_attributionday."
            ),
            tables=("analytics_attribution", "analytics_attributionday"),
        ),
        Definition(
            key="predictive_clv",
            title=_("Customer lifetime value (predictive)"),
            contract=_(
                "Predictive: expected future net revenue from purchase frequency, order value "
                "and churn."
            ),
            computed=_(
                "The last nightly fit of a BG/NBD model (how often a customer buys, and the "
                "probability it is still alive) and a Gamma-Gamma model (how much it spends) "
                "over every customer's orders; each customer's expected net revenue over the "
                "fit's horizon. The card averages it over the period's new customers; the "
                "chart spreads all customers (same filters) over their probability of being "
                "alive. From analytics_clvfit and analytics_customerprediction, summed per "
                "first-order day, channel and campaign by each fit (analytics_predictionday); "
                "with a segment filter from the predictions themselves."
            ),
            tables=("analytics_clvfit", "analytics_customerprediction", "analytics_predictionday"),
        ),
        Definition(
            key="speed_to_lead",
            title=_("Speed to lead and SLA hit rate"),
            contract=_("Lead qualifies → first rep touch; share inside the SLA."),
            computed=_(
                "For the leads that became MQL in the period (their cadence enrollment's "
                "qualification time): the time to the first rep touch, per range, with the "
                "median, p75 and p90 of the touched leads. SLA hit rate = leads first touched "
                "by their SLA deadline ÷ leads whose SLA is decided (touched, or past the "
                "deadline). The channel, source, campaign and segment filters select the "
                "leads. As on the team board (cadences_enrollment, cadences_touch)."
            ),
            tables=("cadences_enrollment", "cadences_touch"),
        ),
        Definition(
            key="cadences",
            title=_("Cadence performance"),
            contract=_("Cadence conversion, and A/B tests between cadences."),
            computed=_(
                "Enrollments that started in the period, followed to today: contacted, "
                "replied and with a meeting booked ÷ started; conversion = ended qualified "
                "(SQL) or ordered ÷ started. Cadences that compete for the same leads are "
                "tested against the best of their group (two-proportion z-test; p below 0.05 "
                "is a real difference). From cadences_enrollment and cadences_touch."
            ),
            tables=("cadences_enrollment", "cadences_touch"),
        ),
        Definition(
            key="journeys",
            title=_("Journey performance"),
            contract=_("Journey conversion."),
            computed=_(
                "Runs started in the period, followed to today: the share that reached the "
                "journey's goal; the e-mails and SMS the journey sent in the period and how "
                "many were clicked; the placed orders of the run's contact while it ran, with "
                "their net revenue (influence, not attribution: an order during two journeys "
                "counts for both). From automations_journeyrun, automations_delivery and "
                "leads_order."
            ),
            tables=("automations_journeyrun", "automations_delivery", "leads_order"),
        ),
        Definition(
            key="messages",
            title=_("E-mail and SMS metrics"),
            contract=_("E-mail and SMS rates: delivered, opened, clicked, unsubscribed, bounced."),
            computed=_(
                "Messages sent in the period (the provider call made) and what became of them "
                "since: delivery rate = delivered ÷ sent, bounce rate = bounced ÷ sent; open, "
                "click and unsubscribe rates ÷ delivered. A click counts as an open; an "
                "opt-out within 7 days of a message counts for it. SMS report no opens, clicks "
                "or bounces: a dash, not 0 %%. From automations_delivery and leads_consent."
            ),
            tables=("automations_delivery", "leads_consent"),
        ),
        Definition(
            key="top_products",
            title=_("Top products"),
            contract=_("Most viewed, most bought, most abandoned."),
            computed=_(
                "Per product over the period: product views; units bought on placed orders "
                "(with their line revenue); and carts with the product that did not become an "
                "order (abandoned). From analytics_productday and analytics_productsalesday; "
                "the channel, campaign and segment filters do not apply."
            ),
            tables=("analytics_productday", "analytics_productsalesday"),
        ),
        Definition(
            key="segment_growth",
            title=_("Segment growth"),
            contract=_("How segments and personas grow and shrink."),
            computed=_(
                "Per segment or persona (the ten largest): its members now, and the contacts "
                "that entered it and left it during the period (leads_segmentmembership: one "
                "row per stay)."
            ),
            tables=("leads_segment", "leads_segmentmembership"),
        ),
        Definition(
            key="nps",
            title=_("NPS"),
            contract=_("% promoters (9–10) − % detractors (0–6)."),
            computed=_(
                "Of the NPS survey answers given in the period: promoters answered 9 or 10, "
                "detractors 0 to 6; NPS = %% promoters − %% detractors, from −100 to 100. From "
                "automations_surveyanswer."
            ),
            tables=("automations_surveyanswer",),
        ),
        Definition(
            key="csat",
            title=_("CSAT"),
            # xgettext:no-python-format
            contract=_("% satisfied answers."),
            computed=_(
                "Of the CSAT survey answers (1 to 5) given in the period, the share that "
                "answered 4 or 5. From automations_surveyanswer."
            ),
            tables=("automations_surveyanswer",),
        ),
    )
}


def definition(key: str) -> Definition:
    return DEFINITIONS[key]
