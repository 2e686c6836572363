"""The queue's forms: a disposition (with the composed message when the rep sends one) and
a skip. Bad input is answered with the field that is wrong, never a 500."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cadences.models import Touch
from leads.models.quality import LeadRating

D = Touch.Disposition
REP_DISPOSITIONS = [c for c in D.choices if c[0] not in (D.AUTOMATIC, D.SENT)]


class DispositionForm(forms.Form):
    enrollment = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    key = forms.CharField(max_length=120, widget=forms.HiddenInput)
    disposition = forms.ChoiceField(
        label=_("What happened?"), choices=REP_DISPOSITIONS, required=False
    )
    notes = forms.CharField(label=_("Notes"), max_length=5000, required=False)
    bad_reason = forms.ChoiceField(
        label=_("Why is it a bad lead?"),
        choices=[("", "—"), *LeadRating.Reason.choices],
        required=False,
    )
    # A manual e-mail or SMS, composed from the step's template and edited by the rep.
    send = forms.BooleanField(required=False)
    channel = forms.ChoiceField(choices=[("email", "e-mail"), ("sms", "SMS")], required=False)
    subject = forms.CharField(max_length=300, required=False)
    text = forms.CharField(max_length=20_000, required=False)
    template = forms.IntegerField(min_value=1, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("send"):
            if not data.get("channel"):
                self.add_error("channel", _("A message goes by e-mail or SMS."))
            if not (data.get("text") or "").strip():
                self.add_error("text", _("Write the message before sending it."))
            if data.get("channel") == "email" and not (data.get("subject") or "").strip():
                self.add_error("subject", _("An e-mail needs a subject."))
        elif not data.get("disposition"):
            self.add_error("disposition", _("Choose what happened."))
        if data.get("disposition") == D.BAD_LEAD and not data.get("bad_reason"):
            self.add_error("bad_reason", _("Say why it is a bad lead: marketing learns from it."))
        return data


class SkipForm(forms.Form):
    enrollment = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Why skip?"), max_length=200)
