"""What every dashboard page is made of: cards (with the change against the previous period),
charts, links to the pages behind the numbers, and the empty states that say how to get data
in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from analytics import selectors_sales as S
from analytics.dashboards import format as fmt
from analytics.dashboards.tables import Table
from analytics.definitions import DEFINITIONS, Definition
from analytics.filters import Filters
from growth.roles import Capability

# --- Cards and charts -----------------------------------------------------------------------


@dataclass
class Change:
    text: str
    direction: str  # "up", "down", "flat"
    tone: str  # "good", "bad", "" (neither)


@dataclass
class Card:
    key: str
    label: str
    value: str
    unit: str = ""
    note: str = ""
    previous: str | None = None  # None: no comparison asked for
    change: Change | None = None
    url: str = ""
    url_label: str = ""
    definition: Definition | None = None


@dataclass
class Chart:
    key: str  # the CSV's name and the element ids
    title: str
    definition: Definition
    figure: dict[str, Any] | None = None
    table: Table | None = None
    intro: str = ""
    note: str = ""
    empty_what: str = ""
    empty_how: str = ""
    csv_url: str = ""
    drill_url: str = ""
    drill_label: str = ""
    label: str = ""  # what the chart shows, for screen readers
    facts: list[tuple[str, str]] = field(default_factory=list)  # small figures over the chart
    wide: bool = False  # across the whole page, not half of it

    @property
    def figure_id(self) -> str:
        return f"figure-{self.key}"

    def empty(self, what_how: tuple[str, str]) -> None:
        self.empty_what, self.empty_how = what_how


def change(
    current: Decimal | float | int | None,
    previous: Decimal | float | int | None,
    *,
    rate: bool = False,
    better: str = "up",
) -> Change | None:
    """current against previous: the relative change ("+12.3 %"), or for a share the
    difference in percentage points ("+1.2 pp"). None when either is missing."""
    if current is None or previous is None:
        return None
    cur, prev = Decimal(str(current)), Decimal(str(previous))
    diff = cur - prev
    direction = "up" if diff > 0 else "down" if diff < 0 else "flat"
    tone = "" if direction == "flat" else "good" if direction == better else "bad"
    sign = {"up": "+", "down": "\u2212", "flat": "\u00b1"}[direction]
    if rate:
        return Change(
            _("%(sign)s%(n)s pp") % {"sign": sign, "n": fmt.decimal(abs(diff) * 100, 1)},
            direction,
            tone,
        )
    if prev == 0:
        return Change(_("new"), direction, tone) if cur else Change("\u00b10", "flat", "")
    return Change(f"{sign}{fmt.pct(abs(diff) / abs(prev))}", direction, tone)


class Kpis:
    """The cards of a page; with the comparison on, each shows the previous period too."""

    def __init__(self, compare: bool) -> None:
        self.compare = compare
        self.cards: list[Card] = []

    def add(
        self,
        key: str,
        label: Any,
        current: Any,
        previous: Any,
        show: Callable[[Any], str],
        *,
        rate: bool = False,
        better: str = "up",
        comparable: bool = True,
        **more: Any,
    ) -> None:
        compared = self.compare and comparable
        self.cards.append(
            Card(
                key=key,
                label=str(label),
                value=show(current),
                previous=show(previous) if compared else None,
                change=change(current, previous, rate=rate, better=better) if compared else None,
                **more,
            )
        )


@dataclass(frozen=True)
class Can:
    """Which pages the reader may open, so links lead only where they are let in."""

    spend: bool = False
    team: bool = False
    journeys: bool = False
    cadences: bool = False
    segments: bool = False
    outbox: bool = False

    @classmethod
    def of(cls, user: Any) -> Can:
        def has(capability: Capability) -> bool:
            return bool(user.has_perm(f"growth.{capability.value}"))

        return cls(
            spend=has(Capability.MANAGE_AD_SPEND),
            team=has(Capability.VIEW_TEAM),
            journeys=has(Capability.MANAGE_JOURNEYS),
            cadences=has(Capability.MANAGE_CADENCES),
            segments=has(Capability.MANAGE_SEGMENTS),
            outbox=has(Capability.MANAGE_JOURNEYS) or has(Capability.MANAGE_TEMPLATES),
        )


def url(name: str, query: str = "", args: Sequence[Any] = ()) -> str:
    path = reverse(name, args=args)
    return f"{path}?{query}" if query else path


def orders_url(filters: Filters, kind: str = "all") -> str:
    return url("dashboards_orders", filters.query(compare="", model="", kind=kind))


def contacts_url(filters: Filters, source: str = "") -> str:
    query = {"created_from": filters.start.isoformat(), "created_to": filters.end.isoformat()}
    if source:
        query["source"] = source
    return url("contacts", urlencode(query))


def spend_url(filters: Filters) -> str:
    query = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
    query.update(
        {k: v for k, v in (("channel", filters.channel), ("campaign", filters.campaign)) if v}
    )
    return url("ad_spend", urlencode(query))


def team_url(filters: Filters) -> str:
    query = {
        "period": "custom",
        "date_from": filters.start.isoformat(),
        "date_to": filters.end.isoformat(),
    }
    return url("team", urlencode(query))


def new_chart(key: str, title: str, definition: str, filters: Filters, **more: Any) -> Chart:
    return Chart(
        key=key,
        title=title,
        definition=DEFINITIONS[definition],
        csv_url=url("dashboards_export", filters.query(), args=[key]),
        **more,
    )


def paid_roas(rows: Sequence[dict[str, Any]]) -> tuple[Decimal, Decimal, Decimal | None]:
    """(ad spend, attributed revenue of the channels with spend, ROAS) from `roas_by_channel`:
    the manager's and the marketer's ROAS are this one figure."""
    spend = sum((Decimal(r["spend"]) for r in rows if r["spend"]), Decimal("0"))
    revenue = sum((Decimal(r["revenue"]) for r in rows if r["spend"]), Decimal("0"))
    return spend, revenue, S.ratio(revenue, spend)


def delay(minutes: float | None) -> str:
    """Minutes as people say them: "40 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    if minutes is None:
        return fmt.DASH
    seconds = max(float(minutes) * 60, 0)
    if seconds < 60:
        return _("%(n)d s") % {"n": seconds}
    whole = int(seconds // 60)
    if whole < 60:
        return _("%(n)d min") % {"n": whole}
    hours, rest = divmod(whole, 60)
    if hours < 24:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": rest}
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h") % {"d": days, "h": hours}


def signed(value: float | None) -> str:
    if value is None:
        return fmt.DASH
    rounded = round(value)
    return f"+{rounded}" if rounded > 0 else "\u2212" + str(-rounded) if rounded < 0 else "0"


# --- Empty states: what to do to get data in ------------------------------------------------


def no_orders() -> tuple[str, str]:
    return (
        _("No orders in this period."),
        _(
            "Orders arrive from your shop: connect it under Sources (Shopify or WooCommerce "
            "webhooks), or widen the period and clear the filters."
        ),
    )


def no_sessions() -> tuple[str, str]:
    return (
        _("No visits recorded in this period."),
        _(
            "Put the tracking snippet on your shop (Sources → a tracking source) so sessions, "
            "their sources and product views are recorded; or widen the period."
        ),
    )


def no_spend() -> tuple[str, str]:
    return (
        _("No ad spend in this period, so no ROAS."),
        _(
            "Import ad spend under Ad spend (a Google Ads or Meta Ads export, or any CSV with "
            "a date and a cost), or send it through the API."
        ),
    )
