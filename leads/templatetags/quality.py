"""The contact page's lead-quality panel: the current verdict, earlier ones, and the form."""

from __future__ import annotations

from typing import Any

from django import template

from leads.models import Contact

register = template.Library()


@register.inclusion_tag("leads/quality/_panel.html", takes_context=True)
def quality_panel(context: template.Context, contact: Contact) -> dict[str, Any]:
    """One query: the lead's latest verdicts with who gave them."""
    from leads.views_quality import panel_context

    panel = panel_context(context["request"], contact)
    panel["csrf_token"] = context.get("csrf_token")
    return panel


@register.filter
def percent(value: float | None) -> str:
    """0.4237 → "42.4 %"; no value (nothing to divide by) → a dash."""
    if value is None:
        return "\u2013"
    return f"{value * 100:.1f}\u00a0%"


@register.filter
def times(value: float | None) -> str:
    """A lift: 2.345 → "2.3 times", written with the multiplication sign; none → a dash."""
    if value is None:
        return "\u2013"
    return f"\u00d7{value:.1f}"
