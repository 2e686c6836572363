"""The API key form: a name, a scope per resource (none / read / write) and an expiry."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from growth.api import scopes

NONE = ""
LEVELS = [(NONE, _("none")), *scopes.Level.choices]


class DateInput(forms.DateInput):
    input_type = "date"


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Who or what uses it, e.g. “Shop ERP sync”."),
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=DateInput,
        help_text=_("Optional: the key stops working at the start of this day."),
    )
    rate_limit_per_minute = forms.IntegerField(
        label=_("Requests per minute"),
        required=False,
        min_value=1,
        max_value=100_000,
        help_text=_("Empty: the default for new keys."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rate_limit_per_minute"].widget.attrs["placeholder"] = str(
            settings.API_RATE_LIMIT_PER_MINUTE
        )
        for resource, label in scopes.RESOURCES.items():
            self.fields[f"scope_{resource}"] = forms.ChoiceField(
                label=str(label),
                choices=LEVELS,
                required=False,
                widget=forms.RadioSelect,
                initial=NONE,
            )

    def scope_rows(self) -> list[tuple[str, forms.BoundField]]:
        """(resource, bound field) for the grid: one row per resource, a column per level."""
        return [(resource, self[f"scope_{resource}"]) for resource in scopes.RESOURCES]

    def clean_expires_on(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        if day <= timezone.localdate():
            raise forms.ValidationError(_("Choose a day after today."))
        return timezone.make_aware(datetime.combine(day, time.min))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = {r: data.get(f"scope_{r}") for r in scopes.RESOURCES if data.get(f"scope_{r}")}
        if not chosen and not self.errors:
            raise forms.ValidationError(
                _("Give the key at least one scope: read or write on a resource.")
            )
        data["scopes"] = chosen
        return data
