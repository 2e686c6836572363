"""The dashboards: manager (/dashboards/), marketer (/dashboards/marketing/) and sales
manager (/dashboards/sales/), their CSV exports and the page of definitions. Needs
VIEW_DASHBOARDS.

Each page is the filter bar and a body; the body alone is a partial htmx fetches again every
30 seconds from the same URL (`HX-Request`), like the team board, so the numbers move
without a reload. Every page reads each selector once and builds its cards and charts from
those results (the query count does not grow with the data). Filters that are not understood
are named on the page, and the page shows the default period instead: never an error page.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from analytics.cache import cached_figure
from analytics.dashboards.exports import EXPORTS
from analytics.dashboards.filters import DashboardFilters, filter_choices, filter_form
from analytics.dashboards.manager import manager_cards, manager_charts, manager_read
from analytics.dashboards.marketing import marketing_cards, marketing_charts, marketing_read
from analytics.dashboards.parts import Can
from analytics.dashboards.sales import sales_cards, sales_charts, sales_read
from analytics.definitions import DEFINITIONS
from analytics.filters import PERIODS
from analytics.models import AttributionModel, RefreshState
from analytics.services.rollups import reporting_zone
from growth.csv_stream import csv_response
from growth.currency import base_currency
from growth.permissions import capability_required
from growth.replica import dashboard_reads
from growth.roles import Capability

view_dashboards = capability_required(Capability.VIEW_DASHBOARDS)


# --- Pages ----------------------------------------------------------------------------------

TITLES = {
    "manager": gettext_lazy("Dashboards: Manager"),
    "marketing": gettext_lazy("Dashboards: Marketing"),
    "sales": gettext_lazy("Dashboards: Sales"),
}


def _page_context(request: HttpRequest, page: str) -> dict[str, Any]:
    full = not request.htmx  # type: ignore[attr-defined]
    form, filters = filter_form(request, full=full)
    currency = base_currency()
    can = Can.of(request.user)
    if page == "manager":
        data = cached_figure(manager_read)(filters)
        cards = manager_cards(data, filters, currency)
        charts = manager_charts(data, filters, currency)
        empty = not (data["sales"].orders or data["traffic"]["sessions"])
    elif page == "marketing":
        data = cached_figure(marketing_read)(filters)
        cards = marketing_cards(data, filters, currency, can)
        charts = marketing_charts(data, filters, currency, can)
        empty = not (
            data["campaigns"]
            or data["traffic"]["sessions"]
            or any(r.started for r in data["journeys"])
            or any(r.sent for r in data["messages"])
        )
    else:
        data = cached_figure(sales_read)(filters)
        cards = sales_cards(data, filters, can)
        charts = sales_charts(data, filters, can)
        empty = not (data["speed"].qualified or any(r.started for r in data["cadences"]))
    refreshed = (
        RefreshState.objects.filter(name="rollups").values_list("refreshed_at", flat=True).first()
    )
    context: dict[str, Any] = {
        "page": page,
        "title": str(TITLES[page]),
        "filters": filters,
        "cards": cards,
        "charts": charts,
        "empty": empty,
        "currency": currency,
        "zone": reporting_zone().key,
        "refreshed_at": refreshed,
        "now": timezone.now(),
        "previous": filters.previous() if filters.compare else None,
    }
    if full:
        context.update(
            {
                "form": form,
                "problems": form.problems(),
                "period_dropped": form.period_dropped,
                "period_key": form.period_key,
                "periods": [(key, label) for key, (label, _days) in PERIODS.items()],
                "models": AttributionModel.choices,
                "segments": form.segments or [],
                "choices": filter_choices(filters),
                "uses_model": page != "sales",
                "uses_dimensions": True,
            }
        )
    return context


def _render(request: HttpRequest, page: str) -> HttpResponse:
    partial = request.htmx  # type: ignore[attr-defined]
    template = "analytics/dashboards/_body.html" if partial else "analytics/dashboards/page.html"
    with dashboard_reads():  # the read replica, when there is one (growth/replica.py)
        response = render(request, template, _page_context(request, page))
    # The page and its partial share a URL: the browser's cache must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@view_dashboards
@require_GET
def manager_dashboard(request: HttpRequest) -> HttpResponse:
    return _render(request, "manager")


@view_dashboards
@require_GET
def marketing_dashboard(request: HttpRequest) -> HttpResponse:
    return _render(request, "marketing")


@view_dashboards
@require_GET
def sales_dashboard(request: HttpRequest) -> HttpResponse:
    return _render(request, "sales")


@view_dashboards
@require_GET
def definitions(request: HttpRequest) -> HttpResponse:
    context = {
        "items": [(d, d.computed_text()) for d in DEFINITIONS.values()],
        "currency": base_currency(),
        "zone": reporting_zone().key,
        "page": "definitions",
    }
    return render(request, "analytics/dashboards/definitions.html", context)


# --- CSV ------------------------------------------------------------------------------------


@view_dashboards
@require_GET
def export(request: HttpRequest, figure: str) -> HttpResponseBase:
    """One chart's numbers as CSV, for the same filters as the page it is on."""
    build = EXPORTS.get(figure)
    if build is None:
        raise Http404(_("There is no such figure on the dashboards."))
    form = DashboardFilters(request.GET if request.GET else None)
    if form.is_bound and not form.is_valid():
        # Numbers for other filters than the ones asked for would mislead in a file.
        return HttpResponse(
            _("The filters were not understood: %(errors)s")
            % {"errors": " ".join(form.problems())},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    filters = form.filters()
    with dashboard_reads():
        table = build(filters)
    filename = f"{figure}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    return csv_response(filename=filename, header=table.header, rows=table.rows)
