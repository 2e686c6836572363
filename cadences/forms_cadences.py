"""Forms of the cadence designer: the cadence (name, rules, assignment) and its steps editor,
the enrollment filters and enroll forms, reps, teams and the SLA.

The services validate; these forms parse and shape the input and put each service error
next to the field it names ("steps.3.day" goes to the day of the third step row)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from automations.models.delivery import MESSAGE_CHANNELS
from cadences.models import Cadence, Enrollment, Rep, SlaPolicy, StepKind, Team
from cadences.services.cadences import MAX_DAY, MAX_STEPS
from growth.models import User

WEEKDAY_CHOICES = [
    ("0", _("Monday")),
    ("1", _("Tuesday")),
    ("2", _("Wednesday")),
    ("3", _("Thursday")),
    ("4", _("Friday")),
    ("5", _("Saturday")),
    ("6", _("Sunday")),
]
WEEKDAY_SHORT = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]
TIME_ERROR = _("Give a time as HH:MM, e.g. 09:00.")
NUMBER_ERROR = _("Give a whole number.")
TIME_ZONES = sorted(available_timezones())
LIST_SPLIT = re.compile(r"[,;\n]")
CHANNELS = dict(MESSAGE_CHANNELS)


def _time_field(label: Any, **kwargs: Any) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        input_formats=["%H:%M", "%H:%M:%S"],
        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
        error_messages={"invalid": TIME_ERROR, "required": TIME_ERROR},
        **kwargs,
    )


def _int_field(label: Any, low: int, high: int, **kwargs: Any) -> forms.IntegerField:
    """A whole number; the bounds are the browser's hint, the service says what is wrong."""
    return forms.IntegerField(
        label=label,
        widget=forms.NumberInput(attrs={"min": low, "max": high}),
        error_messages={"invalid": NUMBER_ERROR, "required": NUMBER_ERROR},
        **kwargs,
    )


def split_list(text: str) -> list[str]:
    """ "web, Google Ads;facebook" → ["web", "Google Ads", "facebook"]."""
    return [part.strip() for part in LIST_SPLIT.split(text or "") if part.strip()]


def apply_errors(
    error: ValidationError, form: forms.Form, rename: Mapping[str, str] | None = None
) -> None:
    """Put a service's ValidationError on the form: on the field it names, else on top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, problems in error.message_dict.items():
        name = (rename or {}).get(key, key)
        for problem in problems:
            form.add_error(name if name in form.fields else None, problem)


# --- Filters --------------------------------------------------------------------------------


class CadenceFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("any status")), *Cadence.Status.choices],
    )


class EnrollmentFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("any")), *Enrollment.Status.choices]
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", _("any")), *Enrollment.Outcome.choices]
    )
    rep = forms.ChoiceField(label=_("Rep"), required=False)
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, reps: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rep"].choices = [  # type: ignore[attr-defined]
            ("", _("any")),
            ("pool", _("shared pool")),
            *reps,
        ]


# --- The cadence ----------------------------------------------------------------------------


class CadenceForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        help_text=_("What reps and the team board call it, e.g. “Hot leads, 7 in 7”."),
        error_messages={"required": _("Give the cadence a name reps will recognise.")},
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    sources = forms.CharField(
        label=_("Sources"),
        required=False,
        max_length=1000,
        help_text=_(
            "Only MQLs from these sources, separated by commas (e.g. google, facebook, "
            "newsletter). Empty: any source."
        ),
    )
    countries = forms.CharField(
        label=_("Countries"),
        required=False,
        max_length=1000,
        help_text=_("Two-letter codes separated by commas, e.g. DE, AT, CH. Empty: any country."),
    )
    personas = forms.MultipleChoiceField(
        label=_("Personas"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text=_("Only MQLs who match one of these buyer personas. None chosen: anyone."),
    )
    segments = forms.MultipleChoiceField(
        label=_("Segments"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text=_("Only MQLs in one of these segments. None chosen: anyone."),
    )
    min_score = _int_field(
        _("Lowest score"),
        -100_000,
        100_000,
        required=False,
        min_value=-100_000,
        max_value=100_000,
        help_text=_("Only MQLs with at least this lead score. Empty: any score."),
    )
    assignment = forms.ChoiceField(
        label=_("Assign leads"),
        choices=Cadence.Assignment.choices,
        initial=Cadence.Assignment.ROUND_ROBIN,
        help_text=_("A rep who is away, off duty or full gets no new leads in any mode."),
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        required=False,
        queryset=Team.objects.order_by("name"),
        empty_label=_("any team"),
        help_text=_("Only reps of this team get its leads."),
    )
    rank = _int_field(
        _("Rank"),
        0,
        32767,
        initial=100,
        min_value=0,
        max_value=32767,
        help_text=_(
            "A new MQL enters the matching active cadence with the lowest rank. Cadences with "
            "the same rank and rules split the leads by weight: an A/B test."
        ),
    )
    weight = _int_field(
        _("A/B weight"),
        1,
        1000,
        initial=100,
        help_text=_("Share of the leads against cadences of the same rank, from 1 to 1000."),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        personas: list[tuple[str, str]],
        segments: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["personas"].choices = personas  # type: ignore[attr-defined]
        self.fields["segments"].choices = segments  # type: ignore[attr-defined]
        if not personas:
            self.fields["personas"].help_text = _(
                "No buyer persona yet: marketers define them under Segments."
            )
        if not segments:
            self.fields["segments"].help_text = _("No segment yet: marketers build them.")
        for name in ("min_score", "rank"):
            self.fields[name].error_messages.update(
                {
                    "min_value": _("Give a number of at least %(limit_value)s."),
                    "max_value": _("Give a number of at most %(limit_value)s."),
                }
            )

    def clean_countries(self) -> list[str]:
        codes = [c.upper() for c in split_list(self.cleaned_data["countries"])]
        wrong = [c for c in codes if not re.fullmatch(r"[A-Z]{2}", c)]
        if wrong:
            raise ValidationError(
                _("“%(code)s” is not a country code; use two letters like DE or US."),
                params={"code": wrong[0][:20]},
            )
        return list(dict.fromkeys(codes))

    def clean_sources(self) -> list[str]:
        sources = split_list(self.cleaned_data["sources"])
        if any(len(s) > 80 for s in sources):
            raise ValidationError(_("Keep each source name under 80 characters."))
        return list(dict.fromkeys(sources))

    def rules(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "sources": data["sources"],
            "countries": data["countries"],
            "personas": list(data["personas"]),
            "segments": list(data["segments"]),
            "min_score": data["min_score"],
        }

    @staticmethod
    def initial_for(cadence: Cadence) -> dict[str, Any]:
        rules = cadence.rules or {}
        return {
            "name": cadence.name,
            "description": cadence.description,
            "sources": ", ".join(rules.get("sources", [])),
            "countries": ", ".join(rules.get("countries", [])),
            "personas": [str(p) for p in rules.get("personas", [])],
            "segments": [str(s) for s in rules.get("segments", [])],
            "min_score": rules.get("min_score"),
            "assignment": cadence.assignment,
            "team": cadence.team_id,
            "rank": cadence.rank,
            "weight": cadence.weight,
            "version": cadence.version,
        }


# --- The steps editor -----------------------------------------------------------------------

# The service's names of a step's fields, and the form's.
STEP_FIELD = {
    "day": "day",
    "from": "window_from",
    "until": "window_until",
    "kind": "kind",
    "template": "template",
    "script": "script",
    "instructions": "instructions",
}
STEP_INPUTS = [*STEP_FIELD.values(), "remove"]
BLANK_STEP = {"day": "0", "window_from": "09:00", "window_until": "18:00", "kind": ""}


class TemplateSelect(forms.Select):
    """Marks each template with its channel, so the script can offer an e-mail step only
    e-mail templates and an SMS step only SMS ones."""

    channels: dict[str, str]

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        channel = self.channels.get(str(value))
        if channel:
            option["attrs"]["data-channel"] = channel
        return option


class LooseChoiceField(forms.ChoiceField):
    """A select whose value the service checks, so its message is the one shown."""

    def validate(self, value: Any) -> None:
        forms.Field.validate(self, value)


class StepForm(forms.Form):
    """One row of the steps editor. The day, times and kind are taken as typed: the service
    says what a step needs (a kind, a day in order, a window, a template for automatic
    steps) in its own words, for every row at once. The template must be one on offer
    here: its id goes into a query."""

    day = forms.CharField(
        label=_("Day"),
        required=False,
        strip=True,
        widget=forms.NumberInput(attrs={"min": 0, "max": MAX_DAY}),
    )
    window_from = forms.CharField(
        label=_("From"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    window_until = forms.CharField(
        label=_("Until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    kind = LooseChoiceField(
        label=_("Touch"), required=False, choices=[("", _("choose…")), *StepKind.choices]
    )
    template = forms.ChoiceField(
        label=_("Template"),
        required=False,
        widget=TemplateSelect,
        help_text=_("Sent by an automatic step; offered to the rep on a manual one."),
        error_messages={"invalid_choice": _("That template no longer exists; choose another.")},
    )
    script = forms.CharField(
        label=_("Script"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    instructions = forms.CharField(
        label=_("Instructions for the rep"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    remove = forms.BooleanField(label=_("Remove this step"), required=False)

    def __init__(self, *args: Any, templates: list[tuple[int, str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        template = self.fields["template"]
        template.choices = [  # type: ignore[attr-defined]
            ("", _("none")),
            # The channel in the label: without the script every template is offered.
            *[
                (str(pk), f"{name} ({CHANNELS.get(channel, channel)})")
                for pk, name, channel in templates
            ],
        ]
        template.widget.channels = {str(pk): channel for pk, _name, channel in templates}

    def raw(self) -> dict[str, str]:
        """What was typed (bound) or shown (unbound), to build the rows again after an
        add, a move or a failed save."""
        values = {}
        for name in STEP_INPUTS:
            value = self[name].value()
            if name == "remove":
                values[name] = "on" if value else ""
            elif isinstance(value, time):
                values[name] = value.strftime("%H:%M")
            else:
                values[name] = "" if value is None else str(value)
        return values


def step_blank(raw: Mapping[str, str]) -> bool:
    """A row added and left empty (its day and window come filled in): skipped on save."""
    return not any(
        raw.get(name, "").strip() for name in ("kind", "template", "script", "instructions")
    )


class MalformedPost(Exception):
    """The steps editor's hidden fields are missing or tampered with: not a user's typo."""


@dataclass
class StepRows:
    """The rows of the steps editor, and the errors about the steps as a whole."""

    forms: list[StepForm]
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_draft(
        cls, draft: list[dict[str, Any]], templates: list[tuple[int, str, str]]
    ) -> StepRows:
        rows = [
            {
                "day": str(step.get("day", "")),
                "window_from": step.get("from", "09:00"),
                "window_until": step.get("until", "18:00"),
                "kind": step.get("kind", ""),
                "template": str(step.get("template") or ""),
                "script": step.get("script", ""),
                "instructions": step.get("instructions", ""),
            }
            for step in draft
            if isinstance(step, dict)
        ]
        return cls.build(rows or [dict(BLANK_STEP)], templates, bound=False)

    @staticmethod
    def raw_from_post(data: Mapping[str, Any]) -> list[dict[str, str]]:
        try:
            count = int(data.get("step_count", ""))
        except (TypeError, ValueError):
            raise MalformedPost from None
        if not 0 <= count <= MAX_STEPS + 1:
            raise MalformedPost
        return [
            {name: str(data.get(f"step-{n}-{name}", ""))[:6000] for name in STEP_INPUTS}
            for n in range(count)
        ]

    @classmethod
    def build(
        cls, rows: list[dict[str, str]], templates: list[tuple[int, str, str]], *, bound: bool
    ) -> StepRows:
        """Forms for these rows, numbered from 0 in order. Bound forms validate (a save);
        unbound ones only show the values (after an add or a move)."""
        forms_ = []
        for n, row in enumerate(rows):
            prefix = f"step-{n}"
            if bound:
                data = {f"{prefix}-{k}": v for k, v in row.items() if not (k == "remove" and not v)}
                forms_.append(StepForm(data, prefix=prefix, templates=templates))
            else:
                forms_.append(
                    StepForm(
                        prefix=prefix,
                        templates=templates,
                        initial={**row, "remove": bool(row.get("remove"))},
                    )
                )
        return cls(forms_)

    def valid(self) -> bool:
        return all(form.is_valid() for form in self.forms)

    def kept(self) -> list[tuple[int, dict[str, Any]]]:
        """(row index, step in the service's shape) of each row to save: not removed, not
        blank. Needs valid()."""
        kept = []
        for n, form in enumerate(self.forms):
            data = form.cleaned_data
            if data["remove"] or step_blank(form.raw()):
                continue
            kept.append(
                (
                    n,
                    {
                        "day": data["day"],
                        "from": data["window_from"],
                        "until": data["window_until"],
                        "kind": data["kind"],
                        "template": int(data["template"]) if data["template"] else None,
                        "script": data["script"],
                        "instructions": data["instructions"],
                    },
                )
            )
        return kept

    def apply_errors(self, error: ValidationError, rows: list[int]) -> dict[str, list[str]]:
        """Put "steps…" errors next to their row and field (`rows[n-1]` is the row of the
        service's step n); returns the errors about anything else."""
        rest: dict[str, list[str]] = {}
        for key, problems in error.message_dict.items():
            parts = key.split(".")
            if parts[0] != "steps":
                rest[key] = problems
                continue
            if len(parts) == 1 or not parts[1].isdigit() or not 0 < int(parts[1]) <= len(rows):
                self.errors.extend(problems)
                continue
            form = self.forms[rows[int(parts[1]) - 1]]
            name = STEP_FIELD.get(parts[2]) if len(parts) > 2 else None
            for problem in problems:
                form.add_error(name, problem)
        return rest

    def has_errors(self) -> bool:
        return bool(self.errors) or any(form.errors for form in self.forms if form.is_bound)


# --- Enrolling by hand ----------------------------------------------------------------------


class EnrollForm(forms.Form):
    contact = forms.CharField(
        label=_("Contact number or e-mail"),
        max_length=254,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. 1042 or ana@example.com")}),
        error_messages={"required": _("Say which contact to enroll: its number or e-mail.")},
    )
    rep = forms.ChoiceField(label=_("Rep"), required=False)

    def __init__(self, *args: Any, reps: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rep"].choices = [("", _("by the cadence's assignment")), *reps]  # type: ignore[attr-defined]


class SegmentEnrollForm(forms.Form):
    segment = forms.ChoiceField(
        label=_("Segment"),
        error_messages={
            "required": _("Choose a segment."),
            "invalid_choice": _("That segment no longer exists; choose another."),
        },
    )

    def __init__(self, *args: Any, segments: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = [("", _("choose…")), *segments]  # type: ignore[attr-defined]


class InstallForm(forms.Form):
    key = forms.CharField(max_length=40)
    publish = forms.BooleanField(required=False)


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (s, label) for s, label in Cadence.Status.choices if s != Cadence.Status.DRAFT.value
        ]
    )


class EnrollmentActionForm(forms.Form):
    action = forms.ChoiceField(choices=[("stop", "stop"), ("pause", "pause"), ("resume", "resume")])
    back = forms.CharField(required=False, max_length=2000)


# --- Reps, teams, SLA -----------------------------------------------------------------------


class RepForm(forms.Form):
    user = forms.ModelChoiceField(
        label=_("User"),
        queryset=User.objects.none(),  # set per request: the users who may become reps
        empty_label=_("choose…"),
        help_text=_("Users with the Sales rep role who are not reps yet."),
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        required=False,
        queryset=Team.objects.order_by("name"),
        empty_label=_("no team"),
        help_text=_("The team's time zone and business hours frame this rep's SLA."),
    )
    territory = forms.CharField(
        label=_("Territory"),
        required=False,
        max_length=1000,
        help_text=_(
            "Country codes separated by commas (e.g. DE, AT). Cadences that assign by "
            "territory give this rep the leads from these countries first."
        ),
    )
    # Hours and days are checked by the service, with the territory and the capacity: every
    # message at once.
    works_from = _time_field(_("Works from"), initial=time(9), required=False)
    works_until = _time_field(_("Works until"), initial=time(18), required=False)
    work_days = forms.MultipleChoiceField(
        label=_("Work days"),
        choices=WEEKDAY_CHOICES,
        initial=["0", "1", "2", "3", "4"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    capacity = _int_field(
        _("Most active leads"),
        1,
        10_000,
        initial=200,
        help_text=_("A rep who holds this many active leads gets no new ones until some end."),
    )
    away = forms.BooleanField(
        label=_("Away (gets no new leads)"),
        required=False,
        help_text=_("On holiday or ill: leads already assigned stay with the rep."),
    )

    def __init__(self, *args: Any, users: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if users is None:
            del self.fields["user"]  # editing: the user stays who it is
        else:
            self.fields["user"].queryset = users  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(rep: Rep) -> dict[str, Any]:
        return {
            "team": rep.team_id,
            "territory": ", ".join(rep.territory or []),
            "works_from": rep.works_from,
            "works_until": rep.works_until,
            "work_days": [str(d) for d in (rep.work_days or [0, 1, 2, 3, 4])],
            "capacity": rep.capacity,
            "away": rep.away,
        }


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        initial="UTC",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
        help_text=_("Where the team works, e.g. Europe/Berlin: business hours are in it."),
    )
    opens = _time_field(_("Business hours from"), initial=time(9), required=False)
    closes = _time_field(_("Business hours until"), initial=time(18), required=False)
    days = forms.MultipleChoiceField(
        label=_("Business days"),
        choices=WEEKDAY_CHOICES,
        initial=["0", "1", "2", "3", "4"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The SLA clock runs only inside these hours and days."),
    )

    @staticmethod
    def initial_for(team: Team) -> dict[str, Any]:
        return {
            "name": team.name,
            "time_zone": team.time_zone,
            "opens": team.opens,
            "closes": team.closes,
            "days": [str(d) for d in team.business_days],
        }


class SlaForm(forms.Form):
    first_touch_minutes = _int_field(
        _("First touch within (minutes)"),
        1,
        1440,
        help_text=_(
            "Counted from the moment the lead qualifies, inside the team's business hours. "
            "The odds of reaching a lead fall from 7 % in the first 5 minutes to 5 % after a day."
        ),
    )
    remind_before_minutes = _int_field(
        _("Remind the rep (minutes before)"),
        0,
        1440,
        help_text=_("An in-app task and an e-mail to the rep this long before the deadline."),
    )
    reassign = forms.BooleanField(
        label=_("Give the lead to another rep when the SLA is missed"),
        required=False,
        help_text=_("The sales managers are alerted either way."),
    )
    lease_minutes = _int_field(
        _("A rep holds a lead in the queue for (minutes)"),
        1,
        120,
        help_text=_(
            "While a rep has a lead open no other rep sees it; after this long without a "
            "disposition it goes back to the queue."
        ),
    )

    new_leads_first = forms.BooleanField(
        label=_("Leads that just qualified go to the front of the queue"),
        required=False,
        help_text=_("Speed to lead: an untouched new MQL is worked before anything overdue."),
    )
    new_lead_hours = _int_field(
        _("A lead counts as new for (hours)"),
        1,
        168,
        help_text=_("After this long without a touch it queues like any other step."),
    )
    then_by = forms.ChoiceField(
        label=_("Then"),
        choices=SlaPolicy.ThenBy.choices,
        error_messages={"invalid_choice": _("Choose what comes after the new leads.")},
    )

    @staticmethod
    def initial_for(policy: SlaPolicy) -> dict[str, Any]:
        return {
            "first_touch_minutes": policy.first_touch_minutes,
            "remind_before_minutes": policy.remind_before_minutes,
            "reassign": policy.reassign,
            "lease_minutes": policy.lease_minutes,
            "new_leads_first": policy.new_leads_first,
            "new_lead_hours": policy.new_lead_hours,
            "then_by": policy.then_by,
        }
