"""Forms of the contact pages: list filters, timeline kinds, a note, and the static list the
filtered contacts are added to."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leads.models import Consent, Segment
from leads.selectors import ContactFilters, timeline_kinds
from leads.services.notes import NOTE_MAX_LENGTH

# The stages of the shared vocabulary (MISSION: subscriber → … → VIP, at-risk, churned).
STAGES = [
    ("subscriber", _("Subscriber")),
    ("lead", _("Lead")),
    ("mql", _("MQL")),
    ("sql", _("SQL")),
    ("opportunity", _("Opportunity")),
    ("customer", _("Customer")),
    ("repeat_customer", _("Repeat customer")),
    ("vip", _("VIP")),
    ("at_risk", _("At risk")),
    ("churned", _("Churned")),
]
SORTS = [
    ("-created", _("Newest first")),
    ("created", _("Oldest first")),
    ("-last_seen", _("Last seen, recent first")),
    ("last_seen", _("Last seen, longest ago first")),
    ("-score", _("Score, highest first")),
    ("score", _("Score, lowest first")),
]


def _day_start(day: date | None) -> datetime | None:
    """A calendar day typed by the user starts at midnight in the user's time zone."""
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


class DateInput(forms.DateInput):
    input_type = "date"


class ContactFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, e-mail or phone")}),
    )
    stage = forms.ChoiceField(
        label=_("Stage"), required=False, choices=[("", _("Any stage")), *STAGES]
    )
    source = forms.CharField(label=_("Source"), required=False, max_length=80)
    country = forms.CharField(
        label=_("Country"),
        required=False,
        max_length=2,
        min_length=2,
        widget=forms.TextInput(attrs={"size": 3, "placeholder": "US"}),
    )
    email_consent = forms.ChoiceField(
        label=_("E-mail consent"),
        required=False,
        choices=[("", _("Any")), *Consent.Status.choices],
    )
    created_from = forms.DateField(label=_("Created from"), required=False, widget=DateInput)
    created_to = forms.DateField(label=_("to"), required=False, widget=DateInput)
    seen_from = forms.DateField(label=_("Last seen from"), required=False, widget=DateInput)
    seen_to = forms.DateField(label=_("to"), required=False, widget=DateInput)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORTS)

    def filters(self) -> ContactFilters:
        """The valid part of what was typed: one bad date must not hide the whole list."""
        if not self.is_bound:
            return ContactFilters()
        self.is_valid()  # fills cleaned_data with the fields that are valid
        data = self.cleaned_data

        def day_end(name: str) -> datetime | None:  # "to" days are inclusive
            day = data.get(name)
            return _day_start(day + timedelta(days=1)) if day else None

        return ContactFilters(
            q=data.get("q", ""),
            stage=data.get("stage", ""),
            source=data.get("source", ""),
            country=data.get("country", ""),
            email_consent=data.get("email_consent", ""),
            created_from=_day_start(data.get("created_from")),
            created_to=day_end("created_to"),
            seen_from=_day_start(data.get("seen_from")),
            seen_to=day_end("seen_to"),
        )

    def sorting(self) -> tuple[str, bool]:
        """(sort key, descending) for the selectors."""
        value = "-created"
        if self.is_bound:
            self.is_valid()
            value = self.cleaned_data.get("sort") or value
        return value.lstrip("-"), value.startswith("-")


class TimelineFilterForm(forms.Form):
    kind = forms.MultipleChoiceField(
        label=_("Show"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[
            ("events", _("Events")),
            ("sessions", _("Sessions")),
            ("orders", _("Orders")),
            ("refunds", _("Refunds")),
            ("stages", _("Stage changes")),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from leads import timeline

        field = self.fields["kind"]
        field.choices = [*field.choices, *((s.kind, s.label) for s in timeline.registered())]  # type: ignore[attr-defined]

    def kinds(self) -> tuple[str, ...]:
        """Ticked kinds; none ticked (or nonsense) means all of them."""
        chosen = self.cleaned_data.get("kind") if self.is_valid() else None
        return tuple(chosen) if chosen else timeline_kinds()


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write something before adding the note.")},
    )


class AddToListForm(forms.Form):
    """Which static list the contacts the list shows go to: one of the existing ones, or a
    new one given a name. The filters travel beside it as the contact list's own fields."""

    segment = forms.ModelChoiceField(
        label=_("An existing static list"),
        queryset=Segment.objects.none(),
        required=False,
        empty_label=_("Choose a list"),
        error_messages={
            "invalid_choice": _("That list is gone or is not a static list: choose another one.")
        },
    )
    name = forms.CharField(
        label=_("or a new static list named"),
        required=False,
        max_length=120,
        error_messages={"max_length": _("Keep the name under 120 characters.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["segment"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            Segment.objects.filter(kind=Segment.Kind.STATIC)
            .only("pk", "name", "member_count")
            .order_by(Lower("name"), "pk")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        segment, name = data.get("segment"), data.get("name", "")
        if segment is None and not name:
            raise ValidationError(
                _("Choose one of your static lists, or type a name for a new one."),
                code="no_list",
            )
        if segment is not None and name:
            raise ValidationError(
                _("Choose an existing list or type a name for a new one, not both."),
                code="both",
            )
        if name and (
            Segment.objects.annotate(lname=Lower("name"))
            .filter(kind=Segment.Kind.STATIC, lname=name.lower())
            .exists()
        ):
            self.add_error(
                "name",
                ValidationError(
                    _(
                        "A static list called “%(name)s” already exists: choose it from the "
                        "lists, or type another name."
                    ),
                    code="taken",
                    params={"name": name},
                ),
            )
        return data
