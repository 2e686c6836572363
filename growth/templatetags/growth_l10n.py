"""Filters for what differs by language beyond the catalogue: shipped names and money.

{% load growth_l10n %}
{{ segment.name|shipped }}      "Champions" → "冠军客户" for a Chinese reader; a name a
                                user typed is shown as it is (growth/shipped.py)
{{ order.total|money:order.currency }}
                                "1,234.50 USD" in English, "US$1,234.50" in Chinese
"""

from __future__ import annotations

from decimal import Decimal

from django import template

from growth.currency import money_display
from growth.shipped import shipped_text

register = template.Library()


@register.filter
def shipped(value: object) -> str:
    return shipped_text(value)


@register.filter
def money(value: Decimal | float | int | str | None, currency: str = "") -> str:
    return money_display(value, currency)
