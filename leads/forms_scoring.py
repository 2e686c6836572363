"""Forms of the scoring pages: the rule editor (with its condition rows), score models and
the rule list's filters. The services validate; these forms only shape the input and put
each error next to its field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from leads.models import ScoreModel, ScoringRule
from leads.models.scoring import MAX_HALF_LIFE_DAYS, MAX_POINTS
from leads.services.scoring_conditions import (
    CONTACT_FIELDS,
    LIST_OPERATORS,
    MAX_CONDITIONS,
    OPERATORS,
    condition_clean,
)

# Suggestions for the property field: common e-commerce event properties, and contact fields.
EVENT_PROPERTY_HINTS = [
    "url",
    "path",
    "referrer",
    "product_id",
    "sku",
    "category",
    "price",
    "quantity",
    "total",
    "type",
    "name",
]
CONTACT_PROPERTY_HINTS = [*CONTACT_FIELDS, "properties."]


class RuleFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Rule or event name")}),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *ScoringRule.Kind.choices]
    )
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[
            ("", _("Any state")),
            ("active", _("Active")),
            ("inactive", _("Inactive")),
            ("stale", _("Waiting for a recompute")),
        ],
    )


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=ScoringRule.Kind.choices,
        initial=ScoringRule.Kind.BEHAVIOUR,
        help_text=_(
            "Behaviour: points for an event the contact sends, losing value over time. "
            "Fit: points for who the contact is (country, company, e-mail domain…), kept."
        ),
    )
    points = forms.IntegerField(
        label=_("Points"),
        min_value=-MAX_POINTS,
        max_value=MAX_POINTS,
        help_text=_("Negative points lower the score: unsubscribes, bounces, competitors."),
    )
    event_name = forms.CharField(
        label=_("Event"),
        max_length=200,
        required=False,
        help_text=_("Behaviour rules: the event name exactly as the shop sends it."),
        widget=forms.TextInput(attrs={"list": "event-names", "autocomplete": "off"}),
    )
    limit_points = forms.IntegerField(
        label=_("At most (points)"),
        min_value=1,
        required=False,
        help_text=_("Optional: cap what this rule awards per period; counts whole awards."),
    )
    limit_period = forms.ChoiceField(
        label=_("Per"),
        required=False,
        choices=[("", _("no limit")), *ScoringRule.Period.choices],
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def fields_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        data["limit_period"] = data.get("limit_period") or ""
        if data.get("kind") == ScoringRule.Kind.FIT:
            data["event_name"] = data.get("event_name") or ""
        return data


class ConditionForm(forms.Form):
    property = forms.CharField(
        label=_("Property"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"list": "property-names", "autocomplete": "off"}),
    )
    operator = forms.ChoiceField(
        label=_("Operator"), required=False, choices=[(k, v) for k, v in OPERATORS.items()]
    )
    value = forms.CharField(label=_("Value"), max_length=2000, required=False)

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not (data.get("property") or "").strip() and not (data.get("value") or "").strip()

    def raw(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "property": data.get("property", ""),
            "operator": data.get("operator", ""),
            "value": data.get("value", ""),
        }


ConditionFormSet = forms.formset_factory(
    ConditionForm, extra=3, max_num=MAX_CONDITIONS, validate_max=True
)


def condition_initial(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for c in conditions:
        value = c.get("value")
        if c.get("operator") in LIST_OPERATORS and isinstance(value, list):
            value = ", ".join(value)
        rows.append({"property": c["property"], "operator": c["operator"], "value": value or ""})
    return rows


def rule_initial(rule: ScoringRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "kind": rule.kind,
        "points": rule.points,
        "event_name": rule.event_name,
        "limit_points": rule.limit_points,
        "limit_period": rule.limit_period,
        "description": rule.description,
        "active": rule.active,
        "version": rule.version,
    }


def bind_rule_forms(data: Any, rule: ScoringRule | None) -> tuple[RuleForm, Any]:
    """The rule form and its condition rows, bound to POST data or filled from `rule`."""
    if data is not None:
        return RuleForm(data), ConditionFormSet(data, prefix="cond")
    initial = rule_initial(rule) if rule else {}
    conditions = condition_initial(rule.conditions) if rule else []
    return RuleForm(initial=initial), ConditionFormSet(initial=conditions, prefix="cond")


def clean_rule_forms(form: RuleForm, conditions: Any) -> list[dict[str, Any]] | None:
    """Validate both: each condition row against the rule's kind, errors on the row's field.
    The cleaned conditions, or None when anything is wrong."""
    form_ok = form.is_valid()
    rows_ok = conditions.is_valid()
    if not rows_ok:
        return None
    kind = form.cleaned_data.get("kind") if form_ok else form.data.get("kind")
    kind = kind if kind in ScoringRule.Kind.values else ScoringRule.Kind.BEHAVIOUR
    cleaned: list[dict[str, Any]] = []
    ok = True
    for row in conditions.forms:
        if row.is_blank():
            continue
        try:
            cleaned.append(condition_clean(row.raw(), kind=kind))
        except ValidationError as error:
            ok = False
            for field, messages in error.message_dict.items():
                for message in messages:
                    row.add_error(field if field in row.fields else None, message)
    return cleaned if ok and form_ok else None


def apply_service_errors(form: RuleForm | ModelForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on the field it names, else on top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)


class ModelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    half_life_days = forms.IntegerField(
        label=_("Half-life (days)"),
        min_value=1,
        max_value=MAX_HALF_LIFE_DAYS,
        initial=30,
        help_text=_("Behaviour points are worth half as much after this many days."),
    )
    is_primary = forms.BooleanField(
        label=_("Primary"),
        required=False,
        help_text=_("The primary model's score is the contact's score and drives the MQL stage."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    @classmethod
    def for_model(cls, model: ScoreModel) -> ModelForm:
        return cls(
            initial={
                "name": model.name,
                "description": model.description,
                "half_life_days": model.half_life_days,
                "is_primary": model.is_primary,
                "active": model.active,
                "version": model.version,
            }
        )

    def fields_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return data
