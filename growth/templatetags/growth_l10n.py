"""Filters for what differs by language beyond the catalogue: shipped names and money.

{% load growth_l10n %}
{{ segment.name|shipped }}      "Champions" → "冠军客户" for a Chinese reader; a name a
                                user typed is shown as it is (growth/shipped.py)
{{ order.total|money:order.currency }}
                                "1,234.50 USD" in English, "US$1,234.50" in Chinese
{{ value|when }}                a stored ISO timestamp (JSON data, e.g. a contact's touches)
                                as a date for people; anything else as it is
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django import template

from growth.currency import money_display
from growth.formats.localized import local_datetime
from growth.shipped import shipped_text

register = template.Library()


@register.filter
def shipped(value: object) -> str:
    return shipped_text(value)


@register.filter
def money(value: Decimal | float | int | str | None, currency: str = "") -> str:
    return money_display(value, currency)


@register.filter
def when(value: object) -> object:
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        try:
            return local_datetime(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value
