"""Currency rates to the reporting currency: what orders and spend in other currencies are
converted at when they arrive (each keeps the rate it was stored with)."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from growth.currency import base_currency, forget_rates
from growth.models import CurrencyRate
from growth.permissions import capability_required
from growth.roles import Capability

CURRENCY = re.compile(r"^[A-Z]{3}$")


class RateForm(forms.Form):
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, min_length=3)
    rate_to_base = forms.DecimalField(
        label=gettext_lazy("Rate"),
        max_digits=16,
        decimal_places=8,
        min_value=Decimal("0.00000001"),
        max_value=Decimal("10000000"),
    )

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        if not CURRENCY.match(currency):
            raise forms.ValidationError(_("A currency is three letters, such as EUR."))
        if currency == base_currency():
            raise forms.ValidationError(
                _("%(currency)s is the reporting currency: its rate is always 1.")
                % {"currency": currency}
            )
        return currency


@capability_required(Capability.MANAGE_AD_SPEND)
def currency_rates(request: HttpRequest) -> HttpResponse:
    form = RateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        rate, created = CurrencyRate.objects.update_or_create(
            currency=form.cleaned_data["currency"],
            defaults={"rate_to_base": form.cleaned_data["rate_to_base"]},
        )
        forget_rates()
        messages.success(
            request,
            (_("Rate for %(currency)s added.") if created else _("Rate for %(currency)s changed."))
            % {"currency": rate.currency},
        )
        return redirect("currency_rates")
    context = {
        "rates": CurrencyRate.objects.order_by("currency"),
        "base_currency": base_currency(),
        "form": form,
    }
    return render(request, "analytics/rates.html", context, status=400 if form.errors else 200)


@capability_required(Capability.MANAGE_AD_SPEND)
@require_POST
def currency_rate_delete(request: HttpRequest, currency: str) -> HttpResponse:
    get_object_or_404(CurrencyRate, currency=currency).delete()
    forget_rates()
    messages.success(request, _("Rate for %(currency)s deleted.") % {"currency": currency})
    return redirect("currency_rates")
