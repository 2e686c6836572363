"""Rates from any currency to the reporting currency (GROWTH_BASE_CURRENCY)."""

from __future__ import annotations

import logging
import time
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


RATE_CACHE_SECONDS = 60.0
_cache: dict[str, tuple[float, Decimal | None]] = {}
log = logging.getLogger(__name__)


def rate_to_base(currency: str) -> Decimal:
    """The rate an order in `currency` is stored with (cached a minute per process: ingest
    asks for every order). Without a rate the order keeps 1 and a warning is logged, so an
    unknown currency is visible instead of silently dropping the order."""
    currency = currency.upper()
    now = time.monotonic()
    cached = _cache.get(currency)
    if cached is None or now - cached[0] > RATE_CACHE_SECONDS:
        cached = (now, rates_to_base([currency]).get(currency))
        _cache[currency] = cached
    if cached[1] is None:
        log.warning("no rate from %s to %s: stored at 1", currency, base_currency())
        return Decimal("1")
    return cached[1]


def forget_rates() -> None:
    _cache.clear()
