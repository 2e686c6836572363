"""Forms of the ad-spend pages: upload, generic column mapping, list filters, other costs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics import spend_csv
from analytics.models import OtherCost, SpendImport
from growth.currency import base_currency
from leads.csv_import import parsing

CHANNEL_HELP = _(
    "Use the label your visits get, so spend meets revenue: “google / cpc” for Google Ads and "
    "“facebook / paid-social” for Meta (the defaults), or “<utm_source> / <utm_medium>” of "
    "your ads' links."
)


class UploadForm(forms.Form):
    layout = forms.ChoiceField(
        label=_("What the file is"),
        choices=SpendImport.Layout.choices,
        initial=SpendImport.Layout.GOOGLE_ADS,
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label=_("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv,text/plain"}),
        error_messages={
            "required": _("Choose a CSV file to upload."),
            "empty": _("The file is empty."),
        },
    )
    channel = forms.CharField(
        label=_("Channel (optional)"),
        required=False,
        max_length=spend_csv.CHANNEL_MAX,
        help_text=CHANNEL_HELP,
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        parsing.check_size(upload.size or 0)  # before a byte of it is read
        return upload


class MappingForm(forms.Form):
    """For a generic file: which column holds each figure, and the channel when none does."""

    def __init__(
        self, *args: Any, header: list[str], mapping: dict[str, str], channel: str, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        columns = [("", _("— not in the file —")), *((column, column) for column in header)]
        for target in spend_csv.TARGETS:
            self.fields[target] = forms.ChoiceField(
                label=spend_csv.TARGET_LABELS[target],
                choices=columns,
                required=False,
                initial=mapping.get(target, ""),
            )
        self.fields["channel_name"] = forms.CharField(
            label=_("Channel, when no column holds it"),
            required=False,
            max_length=spend_csv.CHANNEL_MAX,
            initial=channel,
            help_text=CHANNEL_HELP,
        )

    def mapping(self) -> dict[str, str]:
        """What was chosen (the initial values where the form is not bound or not valid)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        chosen = {t: data.get(t, self.fields[t].initial) or "" for t in spend_csv.TARGETS}
        return {target: column for target, column in chosen.items() if column}

    def channel(self) -> str:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return str(data.get("channel_name", self.fields["channel_name"].initial) or "")

    def target_fields(self) -> list[forms.BoundField]:
        return [self[target] for target in spend_csv.TARGETS]


class SpendFilterForm(forms.Form):
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    # Free text with suggestions: a link may name a channel that has no spend yet, and that
    # must show no rows rather than drop the filter and show them all.
    channel = forms.CharField(
        label=_("Channel"),
        required=False,
        max_length=spend_csv.CHANNEL_MAX,
        widget=forms.TextInput(attrs={"list": "spend-channels"}),
    )
    campaign = forms.CharField(label=_("Campaign"), required=False, max_length=200)

    def __init__(self, *args: Any, channels: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.channels = channels

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The period ends before it starts."))
        return data

    def filters(self) -> dict[str, Any]:
        """The valid filters, ready for the selector; an invalid one is left out."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "start": data.get("start"),
            "end": data.get("end"),
            "channel": (data.get("channel") or "").strip(),
            "campaign": (data.get("campaign") or "").strip(),
        }


class OtherCostForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=OtherCost.Kind.choices)
    description = forms.CharField(label=_("Description"), required=False, max_length=200)
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0")
    )
    currency = forms.CharField(label=_("Currency"), min_length=3, max_length=3)
    channel = forms.CharField(
        label=_("Channel (optional)"),
        required=False,
        max_length=spend_csv.CHANNEL_MAX,
        help_text=_("Leave blank for a cost of every channel, such as a marketing tool."),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["currency"].initial = base_currency()
        self.fields["starts_on"].initial = timezone.localdate().replace(day=1)
