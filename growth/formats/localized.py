"""Dates for people, from Python: the same named formats the templates use
(`|date:"SHORT_DATETIME_FORMAT"`), in the active language (growth/formats/<language>/).

Machine values (CSV cells, URLs, chart data, <input type=date> values, cursors) stay ISO and
never go through here.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from django.utils import timezone
from django.utils.formats import date_format


def local_date(value: date, format_name: str = "SHORT_DATE_FORMAT") -> str:
    """2026-03-05 in English, 2026年3月5日 in Chinese."""
    return date_format(value, format_name)


def local_datetime(
    value: datetime, format_name: str = "SHORT_DATETIME_FORMAT", zone: tzinfo | None = None
) -> str:
    """An aware datetime in `zone` (the current time zone by default): "2026-03-05 14:30" in
    English, "2026年3月5日 14:30" in Chinese."""
    if timezone.is_aware(value):
        value = timezone.localtime(value, zone)
    return date_format(value, format_name)


def local_month(value: date) -> str:
    """2026-03 in English, 2026年3月 in Chinese."""
    return date_format(value, "YEAR_MONTH_FORMAT")
