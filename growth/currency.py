"""Rates from any currency to the reporting currency (GROWTH_BASE_CURRENCY)."""

from __future__ import annotations

import logging
import time
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import get_language

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


# --- Money for people ------------------------------------------------------------------------

# How each language writes a currency next to an amount (CLDR's symbols): English keeps the
# app's "1,234.50 USD" (the code after the amount, unambiguous for any currency); Chinese puts
# the symbol first, "US$1,234.50", "¥1,234.50" for renminbi. A currency without a symbol in
# the table is written with its code after the amount, in any language.
CURRENCY_SYMBOLS: dict[str, dict[str, str]] = {
    "zh-hans": {
        "CNY": "¥",
        "USD": "US$",
        "EUR": "€",
        "GBP": "£",
        "JPY": "JP¥",
        "HKD": "HK$",
        "TWD": "NT$",
        "AUD": "AU$",
        "CAD": "CA$",
        "SGD": "SGD",
        "KRW": "￦",
    },
}


def currency_symbol(currency: str) -> str:
    """The active language's symbol for `currency` ("US$" in Chinese), or its code."""
    code = (currency or "").upper()
    return CURRENCY_SYMBOLS.get(get_language() or "", {}).get(code, code)


def money_display(amount: Decimal | float | int | str | None, currency: str = "") -> str:
    """An amount in a currency as the reader writes it: grouped by thousands, to the cent,
    "1,234.50 USD" in English and "US$1,234.50" in Chinese. Without a currency: the number."""
    if amount is None or amount == "":
        return "\u2014"
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    number = number_format(value, decimal_pos=2, force_grouping=True)
    code = (currency or "").upper()
    if not code:
        return number
    symbols = CURRENCY_SYMBOLS.get(get_language() or "", {})
    if code in symbols and symbols[code] != code:
        sign, digits = ("-", number[1:]) if number.startswith("-") else ("", number)
        return f"{sign}{symbols[code]}{digits}"
    return f"{number} {code}"
