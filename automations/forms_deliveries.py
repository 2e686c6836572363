"""Forms of the outbox pages: the deliveries' filters, the sending policy, and suppressions.
The services check the rules; these forms shape the input and put each error next to its
field."""

from __future__ import annotations

import re

from django import forms
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from automations.models import Delivery, SendingPolicy, Suppression
from automations.models.delivery import MESSAGE_CHANNELS, Channel, Purpose
from automations.selectors import DeliveryFilters, SuppressionFilters

CAP_MAX = 1000
KNOWN_ORIGINS = ("journey", "cadence", "test", "sms-help")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class DeliveryFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=254,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("starts with, e.g. anna@ or +4915")}
        ),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("any")), *Delivery.Status.choices]
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("any")), *Channel.choices]
    )
    purpose = forms.ChoiceField(
        label=_("Purpose"), required=False, choices=[("", _("any")), *Purpose.choices]
    )
    origin = forms.CharField(
        label=_("Origin"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"list": "origins", "size": 10}),
    )

    def filters(self) -> DeliveryFilters:
        """The filters that were understood; one that was not is left out (and named)."""
        if not self.is_bound:
            return DeliveryFilters()
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return DeliveryFilters(
            **{
                name: (data.get(name) or "").strip()
                for name in ("status", "channel", "purpose", "origin", "q")
            }
        )


class PolicyForm(forms.Form):
    allowed_from = forms.TimeField(
        label=_("Send from"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_(
            "Marketing and sales messages go out only between these two times, on the "
            "contact's own clock. A message due at night waits until this time the next "
            "morning; nothing is dropped."
        ),
    )
    allowed_until = forms.TimeField(
        label=_("Send until"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_(
            "The end of the window. A window over midnight works too (18:00 to 02:00). "
            "Order confirmations and other transactional messages ignore the window."
        ),
    )
    default_time_zone = forms.CharField(
        label=_("Time zone for contacts without one"),
        max_length=64,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
        help_text=_(
            "Whose clock the window follows when Growth does not know the contact's time "
            "zone: a name such as Europe/Berlin, America/New_York or UTC."
        ),
    )
    email_per_day = forms.IntegerField(
        label=_("Marketing e-mails a day"),
        min_value=0,
        max_value=CAP_MAX,
        help_text=_(
            "At most this many marketing and sales e-mails reach one contact in 24 hours. "
            "More wait for a free slot (the most important first). 0 sends none."
        ),
    )
    email_per_week = forms.IntegerField(
        label=_("Marketing e-mails a week"),
        min_value=0,
        max_value=CAP_MAX,
        help_text=_("The same over 7 days."),
    )
    sms_per_day = forms.IntegerField(
        label=_("Marketing SMS a day"),
        min_value=0,
        max_value=CAP_MAX,
        help_text=_("At most this many marketing and sales SMS reach one contact in 24 hours."),
    )
    sms_per_week = forms.IntegerField(
        label=_("Marketing SMS a week"),
        min_value=0,
        max_value=CAP_MAX,
        help_text=_("The same over 7 days."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    @classmethod
    def for_policy(cls, policy: SendingPolicy) -> PolicyForm:
        return cls(initial=policy_initial(policy))


def policy_initial(policy: SendingPolicy) -> dict[str, object]:
    return {
        "allowed_from": policy.allowed_from,
        "allowed_until": policy.allowed_until,
        "default_time_zone": policy.default_time_zone,
        "email_per_day": policy.email_per_day,
        "email_per_week": policy.email_per_week,
        "sms_per_day": policy.sms_per_day,
        "sms_per_week": policy.sms_per_week,
        "version": policy.version,
    }


class SuppressionForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=MESSAGE_CHANNELS)
    address = forms.CharField(
        label=_("Address"),
        max_length=254,
        help_text=_("An e-mail address, or a phone number with its country code (+49…)."),
    )
    detail = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        help_text=_("Why, for whoever reads this later (optional)."),
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        channel, address = data.get("channel"), (data.get("address") or "").strip()
        if not channel or not address:
            return data
        if channel == Channel.EMAIL:
            address = address.lower()
            try:
                validate_email(address)
            except forms.ValidationError:
                self.add_error("address", _("This is not an e-mail address."))
                return data
        else:
            address = ("+" if address.startswith("+") else "") + re.sub(r"\D", "", address)
            if not E164.match(address):
                self.add_error(
                    "address",
                    _("Write the number with its country code, for example +4915112345678."),
                )
                return data
        data["address"] = address
        return data


class SuppressionFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("starts with")}),
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("any")), *Channel.choices]
    )
    reason = forms.ChoiceField(
        label=_("Reason"), required=False, choices=[("", _("any")), *Suppression.Reason.choices]
    )

    def filters(self) -> SuppressionFilters:
        if not self.is_bound:
            return SuppressionFilters()
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return SuppressionFilters(
            **{name: (data.get(name) or "").strip() for name in ("channel", "reason", "q")}
        )
