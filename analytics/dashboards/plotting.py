"""The dashboards' figures' look: colours, layout and axes shared by every chart.

Figures are built with plotly.graph_objects and handed to the page as JSON (the CSP allows
no inline script; static/js/charts.js draws them). Heatmaps have gaps and no colour bar:
under the CSP plotly.js may not set the style attributes those need.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from django.utils.translation import get_language

# The "none" template keeps each figure small on every refresh; as the default it is also what
# every new figure starts from, instead of plotly's large default template.
pio.templates.default = "none"

BRAND, ACCENT, MUTED, GRID = "#0f766e", "#b45309", "#5f6b7a", "#dfe3e8"  # growth.css colours
PALETTE = ("#0f766e", "#b45309", "#4f46e5", "#be185d", "#5f6b7a", "#0369a1")
TOP = 15  # bars per chart at most; the table and the CSV keep every row


# --- Figures --------------------------------------------------------------------------------


def f(value: Any) -> float | None:
    """For plotly: a float, or None (a gap)."""
    return None if value is None else float(value)


def pct_value(value: Any) -> float | None:
    return None if value is None else round(float(value) * 100, 1)


def figure(fig: go.Figure, **layout: Any) -> dict[str, Any]:
    """The figure as plotly.js takes it, in the dashboards' look (`layout` overrides it,
    merged key by key as `update_layout` would). The look is merged into the JSON, not set
    through plotly's validating setters: those took most of a dashboard's time."""
    look: dict[str, Any] = {
        "height": 320,
        "margin": {"l": 64, "r": 64, "t": 24, "b": 64},
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1d2430"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "y": -0.25},
    }
    # to_json, not to_plotly_json: it turns numpy and dates into plain JSON json_script takes.
    result: dict[str, Any] = json.loads(fig.to_json())
    result["layout"] = _merged(_merged(result.get("layout", {}), look), layout)
    return result


def _merged(base: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """`base` with `more` laid over it, nested dicts merged rather than replaced."""
    out = dict(base)
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def axis(title: str, **more: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "rangemode": "tozero", "gridcolor": GRID, **more}


# plotly.js writes date ticks in English ("Mar 5"): a Chinese reader gets d3 formats in her
# own order. English keeps plotly's ticks, which it adapts to the range shown.
DATE_AXIS_FORMATS: dict[str, dict[str, str]] = {
    "zh-hans": {"tickformat": "%-m月%-d日", "hoverformat": "%Y年%-m月%-d日"},
}


def date_axis(**more: Any) -> dict[str, Any]:
    """An axis of days (the data stays ISO), its ticks and hover labels in the active
    language."""
    return {"type": "date", "gridcolor": GRID, **DATE_AXIS_FORMATS.get(get_language(), {}), **more}


def count_axis(title: str, counts: Iterable[int | float], **more: Any) -> dict[str, Any]:
    """An axis of whole things: a small count gets a tick per unit, never "0.5 orders"."""
    small = max((float(c) for c in counts), default=0) <= 5
    return axis(title, tickformat="d", **({"dtick": 1} if small else {}), **more)
