"""Forms of automations: message templates."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from automations.models import MessageTemplate, Topic
from automations.models.delivery import MESSAGE_CHANNELS, Purpose

# Languages a message can be written in, matched against the contact's locale ("de-AT"
# reads the "de" version).
LOCALES = [
    ("en", _("English")),
    ("zh", _("Chinese")),
    ("de", _("German")),
    ("fr", _("French")),
    ("es", _("Spanish")),
    ("it", _("Italian")),
    ("nl", _("Dutch")),
    ("ja", _("Japanese")),
]


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    channel = forms.ChoiceField(label=_("Channel"), choices=MESSAGE_CHANNELS, required=False)
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        choices=Purpose.choices,
        help_text=_(
            "Marketing needs consent and waits for quiet hours and frequency caps; "
            "transactional (order confirmation, shipping) only needs an address."
        ),
    )
    default_locale = forms.ChoiceField(label=_("Default language"), choices=LOCALES, required=False)
    topic = forms.ModelChoiceField(
        label=_("Topic"),
        queryset=Topic.objects.filter(active=True),
        required=False,
        empty_label=_("— none —"),
        help_text=_(
            "Contacts who opted out of this topic on their preferences page do not get it."
        ),
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ContentForm(forms.Form):
    locale = forms.ChoiceField(label=_("Language"), choices=LOCALES)
    subject = forms.CharField(label=_("Subject"), max_length=300, required=False)
    preheader = forms.CharField(
        label=_("Preheader"),
        max_length=300,
        required=False,
        help_text=_("The line mail apps show after the subject."),
    )
    html = forms.CharField(
        label=_("HTML part"), required=False, widget=forms.Textarea(attrs={"rows": 14})
    )
    text = forms.CharField(
        label=_("Text part"), required=False, widget=forms.Textarea(attrs={"rows": 8})
    )

    def parts(self) -> dict[str, str]:
        return {p: self.cleaned_data.get(p, "") for p in ("subject", "preheader", "html", "text")}


class TestSendForm(forms.Form):
    to = forms.CharField(label=_("Send to"), max_length=254)
    contact = forms.IntegerField(label=_("As contact"), required=False, min_value=1)


def template_initial(template: MessageTemplate) -> dict[str, object]:
    return {
        "name": template.name,
        "channel": template.channel,
        "purpose": template.purpose,
        "default_locale": template.default_locale,
        "description": template.description,
        "topic": template.topic_id,
        "version": template.version,
    }


class TopicForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    description = forms.CharField(label=_("What it is"), max_length=200, required=False)
