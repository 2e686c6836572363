"""The orders behind a dashboard figure (/dashboards/orders/): the same filters as the figure
(period, channel / source / campaign of the buyer's first touch, segment) and which orders:
all placed orders, the new customers' first orders, or the returned ones. Needs
VIEW_DASHBOARDS.

The rows are read with the expressions the rollups are built from (`PLACED`, `GROSS`, `NET`,
`RETURNED`; new customers from the customer facts), so the totals line matches the cards the
link came from. Pages go by keyset on (placed_at, id), newest first: page 1000 costs what
page 1 costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from analytics import selectors_sales as S
from analytics.dashboards import format as F
from analytics.filters import Filters
from analytics.services.rollups import GROSS, NET, PLACED, RETURNED, reporting_zone
from analytics.views_dashboards import DashboardFilters, view_dashboards
from growth.currency import base_currency, money_display
from growth.formats.localized import local_datetime
from leads.views_contacts import url_maker

PAGE_SIZE = 50
KINDS = {
    "all": gettext_lazy("All placed orders"),
    "new": gettext_lazy("New customers' first orders"),
    "returned": gettext_lazy("Refunded or cancelled orders"),
}
KIND_SQL = {
    "all": "",
    "new": " AND EXISTS (SELECT 1 FROM analytics_customerfact cf WHERE cf.first_order_id = o.id)",
    "returned": f" AND {RETURNED}",
}


def _where(filters: Filters, kind: str) -> str:
    dims = S.dimension_sql(
        filters,
        channel="COALESCE(c.source_channel, '')",
        campaign="COALESCE(c.first_touch->>'utm_campaign', '')",
    )
    member = ""
    if filters.segment is not None:
        member = (
            " AND EXISTS (SELECT 1 FROM leads_segmentmembership m WHERE m.contact_id = o.contact_id"
            " AND m.segment_id = %(segment)s AND m.exited_at IS NULL)"
        )
    return f"""
        FROM leads_order o
        LEFT JOIN leads_contact c ON c.id = o.contact_id
        WHERE o.placed_at >= (%(start)s::timestamp AT TIME ZONE %(tz)s)
          AND o.placed_at < ((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
          AND {PLACED}{dims}{member}{KIND_SQL[kind]}
    """


@dataclass(frozen=True)
class OrderPage:
    rows: list[dict[str, Any]]
    next_cursor: str
    orders: int
    gross: Decimal
    net: Decimal


def order_page(filters: Filters, kind: str, after: tuple[datetime, int] | None) -> OrderPage:
    """One page of the orders and the totals of all of them: two queries."""
    where = _where(filters, kind)
    params = S.params_of(filters)
    totals = S.sql_rows(
        f"SELECT count(*) AS orders, COALESCE(sum({GROSS}), 0) AS gross, "
        f"COALESCE(sum({NET}), 0) AS net {where}",
        params,
    )[0]
    cursor = ""
    if after is not None:
        cursor = " AND (o.placed_at, o.id) < (%(after_at)s, %(after_id)s)"
        params.update(after_at=after[0], after_id=after[1])
    rows = S.sql_rows(
        f"""
        SELECT o.id, o.order_number, o.shop_order_id, o.status, o.currency, o.total,
               o.placed_at, o.contact_id, {GROSS} AS gross, {NET} AS net,
               COALESCE(c.source_channel, '') AS channel,
               COALESCE(c.first_touch->>'utm_campaign', '') AS campaign,
               c.first_name, c.last_name, c.email, c.phone
        {where}{cursor}
        ORDER BY o.placed_at DESC, o.id DESC
        LIMIT %(limit)s
        """,
        {**params, "limit": PAGE_SIZE + 1},
    )
    next_cursor = ""
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        last = rows[-1]
        next_cursor = f"{last['placed_at'].isoformat()}_{last['id']}"
    return OrderPage(
        rows=rows,
        next_cursor=next_cursor,
        orders=int(totals["orders"]),
        gross=Decimal(totals["gross"]),
        net=Decimal(totals["net"]),
    )


def cursor_decode(value: str) -> tuple[datetime, int] | None:
    """ "<placed_at ISO>_<id>" → (placed_at, id); None for anything else (first page)."""
    at, _sep, pk = value.rpartition("_")
    moment = parse_datetime(at) if at else None
    if moment is None or not pk.isdigit() or timezone.is_naive(moment):
        return None
    return moment, int(pk)


def _name(row: dict[str, Any]) -> str:
    if row["contact_id"] is None:
        return F.DASH
    full = f"{row['first_name'] or ''} {row['last_name'] or ''}".strip()
    return full or row["email"] or row["phone"] or _("Visitor #%(id)s") % {"id": row["contact_id"]}


@view_dashboards
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    form = DashboardFilters(request.GET if request.GET else None)
    filters = form.filters()
    kind = request.GET.get("kind", "all")
    problems = form.problems()
    if kind not in KINDS:
        problems.append(_("Orders: choose all, new or returned; showing all."))
        kind = "all"
    raw_after = request.GET.get("after", "")
    after = cursor_decode(raw_after) if raw_after else None
    if raw_after and after is None:
        problems.append(_("The page link was not understood; showing the first page."))
    page = order_page(filters, kind, after)
    contact_url = url_maker("contact_detail")
    zone = reporting_zone()
    rows = [
        {
            "number": r["order_number"] or r["shop_order_id"],
            "placed": local_datetime(r["placed_at"], zone=zone),
            "contact": _name(r),
            "contact_url": contact_url(r["contact_id"]) if r["contact_id"] else "",
            "channel": r["channel"] or F.DASH,
            "campaign": r["campaign"] or F.DASH,
            "status": r["status"],
            "total": money_display(r["total"], r["currency"]),
            "gross": F.money(r["gross"]),
            "net": F.money(r["net"]),
        }
        for r in page.rows
    ]
    context = {
        "form": form,
        "filters": filters,
        "problems": problems,
        "kind": kind,
        "kinds": [(key, str(label)) for key, label in KINDS.items()],
        "kind_label": KINDS[kind],
        "page": page,
        "rows": rows,
        "paged": after is not None,
        "currency": base_currency(),
        "zone": zone.key,
        "totals": {
            "orders": F.count(page.orders),
            "gross": F.money(page.gross),
            "net": F.money(page.net),
        },
        "query": filters.query(compare="", model=""),
    }
    return render(request, "analytics/dashboards/orders.html", context)
