"""Rates from any currency to the reporting currency (GROWTH_BASE_CURRENCY)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from growth.models import CurrencyRate


def base_currency() -> str:
    return str(settings.GROWTH_BASE_CURRENCY)


def rates_to_base(currencies: set[str] | list[str]) -> dict[str, Decimal]:
    """{currency: rate} for the known ones, in one query; the base currency is always 1.

    A currency missing from the result has no rate: callers report it (ad spend) or keep the
    default and say so (orders), never guess.
    """
    wanted = {c.upper() for c in currencies}
    base = base_currency()
    rates = {base: Decimal("1")} if base in wanted else {}
    others = wanted - {base}
    if others:
        rates.update(
            CurrencyRate.objects.filter(currency__in=others).values_list("currency", "rate_to_base")
        )
    return rates
