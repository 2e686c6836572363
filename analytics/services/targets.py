"""Funnel targets: the conversion from the step before that the team aims for, per step."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from analytics.cache import data_changed
from analytics.models import FunnelTarget
from analytics.selectors_sales import LEAD_STEPS, SHOP_STEPS

# The first step of a funnel has nothing before it, so it has no target.
STEPS = {FunnelTarget.Funnel.SHOP: SHOP_STEPS[1:], FunnelTarget.Funnel.LEAD: LEAD_STEPS[1:]}


@transaction.atomic
def funnel_targets_save(*, targets: dict[tuple[str, str], Decimal | None], user: Any) -> None:
    """Set every step's target at once: a share in (0, 1], or None for no target."""
    for (funnel, step), rate in targets.items():
        if step not in STEPS.get(funnel, ()):  # type: ignore[call-overload]
            raise ValidationError(_("%(step)s is not a step of that funnel.") % {"step": step})
        if rate is not None and not Decimal("0") < rate <= Decimal("1"):
            raise ValidationError(_("A target is a share above 0 % and at most 100 %."))
    data_changed()
    for (funnel, step), rate in targets.items():
        if rate is None:
            FunnelTarget.objects.filter(funnel=funnel, step=step).delete()
        else:
            FunnelTarget.objects.update_or_create(
                funnel=funnel, step=step, defaults={"rate": rate, "updated_by": user}
            )
