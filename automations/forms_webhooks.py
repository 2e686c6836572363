"""Forms of the webhook pages: a subscription (events as grouped checkboxes) and the
delivery log's filters. The service checks the rules (URL scheme, known events); its errors
land next to their fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from automations.models import WebhookDelivery, WebhookSubscription
from automations.models.webhooks import DELIVERY_ALL, EVENT_GROUPS, EventType


def _event_label(value: str) -> str:
    if value == DELIVERY_ALL:
        return f"{DELIVERY_ALL} — {_('every delivery event, present and future')}"
    return f"{value} — {EventType(value).label}"


def event_choices() -> list[tuple[Any, Any]]:
    return [
        (group, [(value, _event_label(value)) for value in values])
        for group, values in EVENT_GROUPS
    ]


class SubscriptionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    url = forms.CharField(
        label=_("URL"),
        max_length=2000,
        help_text=_("Where Growth POSTs the events: https:// (http:// only for localhost)."),
        # A text input (styled like the others); the service checks the URL.
        widget=forms.TextInput(
            attrs={"inputmode": "url", "placeholder": "https://example.com/growth-events"}
        ),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Events"),
        choices=event_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("Turned off, events are not recorded for it and nothing is sent."),
    )

    @staticmethod
    def initial_for(subscription: WebhookSubscription) -> dict[str, Any]:
        return {
            "name": subscription.name,
            "url": subscription.url,
            "event_types": list(subscription.event_types),
            "is_active": subscription.is_active,
        }


class DeliveryLogFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("any")), *WebhookDelivery.Status.choices],
    )
    event_type = forms.ChoiceField(
        label=_("Event"),
        required=False,
        choices=[("", _("any")), *((t.value, t.value) for t in EventType)],
    )

    def filters(self) -> dict[str, str]:
        """The filters that were understood; one that was not is left out (and named)."""
        if not self.is_bound or not self.is_valid():
            data = getattr(self, "cleaned_data", {})
        else:
            data = self.cleaned_data
        return {name: data[name] for name in ("status", "event_type") if data.get(name)}
