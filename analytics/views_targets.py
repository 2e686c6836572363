"""Funnel targets: the conversion each step should reach, set by the people who read the
funnels; the dashboards mark each step against it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.dashboards.figures_manager import LEAD_STEP_LABELS, SHOP_STEP_LABELS
from analytics.models import FunnelTarget
from analytics.services.targets import STEPS, funnel_targets_save
from analytics.views_dashboards import view_dashboards

LABELS = {FunnelTarget.Funnel.SHOP: SHOP_STEP_LABELS, FunnelTarget.Funnel.LEAD: LEAD_STEP_LABELS}


def _field_name(funnel: str, step: str) -> str:
    return f"{funnel}__{step}"


class TargetsForm(forms.Form):
    """One optional percentage per step (after the first) of each funnel."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for funnel, steps in STEPS.items():
            labels = LABELS[funnel]
            names = list(labels)
            for step in steps:
                before = labels[names[names.index(step) - 1]]
                self.fields[_field_name(funnel, step)] = forms.DecimalField(
                    label=f"{before} → {labels[step]}",
                    required=False,
                    min_value=Decimal("0.01"),
                    max_value=Decimal("100"),
                    decimal_places=2,
                    widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": "%"}),
                    help_text=gettext_lazy("Conversion in %; empty: no target."),
                )

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (str(FunnelTarget.Funnel(funnel).label), [self[_field_name(funnel, s)] for s in steps])
            for funnel, steps in STEPS.items()
        ]

    def targets(self) -> dict[tuple[str, str], Decimal | None]:
        return {
            (funnel, step): (
                value / 100
                if (value := self.cleaned_data.get(_field_name(funnel, step))) is not None
                else None
            )
            for funnel, steps in STEPS.items()
            for step in steps
        }


@view_dashboards
def funnel_targets(request: HttpRequest) -> HttpResponse:
    current = {
        _field_name(t.funnel, t.step): (t.rate * 100).normalize()
        for t in FunnelTarget.objects.all()
    }
    form = TargetsForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            funnel_targets_save(targets=form.targets(), user=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Funnel targets saved."))
            return redirect("dashboards_targets")
    return render(
        request,
        "analytics/dashboards/targets.html",
        {"form": form, "page": "targets"},
        status=400 if form.errors else 200,
    )
