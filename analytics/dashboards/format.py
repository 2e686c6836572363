"""Numbers for people: grouping, money to the cent, "42.4 %", "\u00d72.35", a dash for
"nothing to divide by"; and the attribution models by their names."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from analytics.models import AttributionModel

DASH = "\u2014"
CENT = Decimal("0.01")
MODEL_LABELS = dict(AttributionModel.choices)


# --- Numbers for people ---------------------------------------------------------------------


def rounded(value: Decimal | float | int, places: int) -> Decimal:
    """Rounded half up (Django's number_format cuts digits off instead of rounding)."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _number(value: Decimal | float | int, places: int, grouping: bool = True) -> str:
    return number_format(rounded(value, places), decimal_pos=places, force_grouping=grouping)


def count(value: int | float | Decimal | None) -> str:
    if value is None:
        return DASH
    return number_format(int(rounded(value, 0)), force_grouping=True)


def money(value: Decimal | float | None) -> str:
    """155 → "155.00"; the currency is named once, in the heading or the card."""
    if value is None:
        return DASH
    return _number(value, 2)


def pct(value: Decimal | float | None) -> str:
    """A share: 0.4237 → "42.4 %"; nothing to divide by → a dash."""
    if value is None:
        return DASH
    return _number(Decimal(str(value)) * 100, 1) + "\u00a0%"


def multiple(value: Decimal | float | None) -> str:
    """ROAS, CLV:CAC: 2.345 → "\u00d72.35" (times 2.35)."""
    if value is None:
        return DASH
    return "\u00d7" + _number(value, 2)


def days(value: Decimal | float | None) -> str:
    if value is None:
        return DASH
    return _("%(n)s d") % {"n": _number(value, 1)}


def decimal(value: Decimal | float | None, places: int = 2) -> str:
    if value is None:
        return DASH
    return _number(value, places)
