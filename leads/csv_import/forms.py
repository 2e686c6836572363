"""Forms of the CSV import: the upload and the column mapping."""

from __future__ import annotations

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from leads.csv_import import parsing
from leads.models import ContactImport


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What the file holds"),
        choices=[
            (ContactImport.Kind.CONTACTS, _("Contacts: one row per person")),
            (ContactImport.Kind.ORDERS, _("Orders: one row per order line, as shops export them")),
        ],
        initial=ContactImport.Kind.CONTACTS,
        required=False,  # contacts when not said
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label=_("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
        error_messages={
            "required": _("Choose a CSV file to upload."),
            "empty": _("The file is empty."),
        },
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        parsing.check_size(upload.size or 0)  # before a byte of it is read
        return upload

    def clean_kind(self) -> str:
        return str(self.cleaned_data.get("kind") or ContactImport.Kind.CONTACTS)


class MappingForm(forms.Form):
    """One select per CSV column: which contact (or order) field it fills, a property, or
    nothing."""

    def __init__(
        self,
        *args: object,
        header: list[str],
        mapping: dict[str, str],
        kind: str = ContactImport.Kind.CONTACTS,
        **kwargs: object,
    ):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.header = header
        for index, column in enumerate(header):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=column,
                choices=parsing.target_choices(column, kind),
                initial=mapping.get(column, parsing.IGNORE),
            )

    def mapping(self) -> dict[str, str]:
        """What was chosen (the initial guess where the form is not bound or not valid)."""
        chosen = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {
            column: chosen.get(f"col_{index}") or self.fields[f"col_{index}"].initial
            for index, column in enumerate(self.header)
        }

    def columns(self) -> list[tuple[str, forms.BoundField]]:
        return [(column, self[f"col_{index}"]) for index, column in enumerate(self.header)]
