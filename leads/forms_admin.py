"""Forms of the admin pages for sources and inbound deliveries."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext_lazy as _

from leads.models import InboundDelivery, Source

# CSV import sources are made by the import itself, not by hand.
CREATABLE_KINDS = [(k.value, k.label) for k in Source.Kind if k != Source.Kind.IMPORT]


class OriginsField(forms.CharField):
    """Allowed origins typed one per line or comma separated → a clean list of origins.

    Browsers send `Origin: scheme://host[:port]` with no path, so anything else would never
    match; saying so here beats a tracking call silently refused later.
    """

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Allowed origins"))
        kwargs.setdefault(
            "help_text",
            _(
                "Tracking only: the sites allowed to send events from a browser, one per line, "
                "e.g. https://shop.example.com (* allows any site). Leave empty to allow server-side calls only."
            ),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value) or ""
        origins: list[str] = []
        for item in filter(None, (part.strip() for part in re.split(r"[,\s]+", text))):
            origin = "*" if item == "*" else self._origin(item)  # "*": any site
            if origin not in origins:
                origins.append(origin)
        return origins

    @staticmethod
    def _origin(item: str) -> str:
        parts = urlsplit(item.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise forms.ValidationError(
                _("“%(value)s” is not an origin like https://shop.example.com."),
                params={"value": item},
            )
        return f"{parts.scheme}://{parts.netloc}".lower()


class SourceCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=CREATABLE_KINDS)
    allowed_origins = OriginsField()
    secret = forms.CharField(
        label=_("Webhook secret"),
        required=False,
        max_length=200,
        strip=True,
        help_text=_(
            "Shopify only: Shopify signs webhooks with your app's client secret, so paste it "
            "here. Leave empty for WooCommerce and Growth generates one."
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if data.get("secret") and kind != Source.Kind.SHOPIFY:
            self.add_error("secret", _("Only Shopify sources take a secret you provide."))
        if data.get("allowed_origins") and kind != Source.Kind.TRACKING:
            self.add_error("allowed_origins", _("Allowed origins apply to tracking sources only."))
        return data


class SourceEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    allowed_origins = OriginsField()
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("An inactive source's calls and webhooks are refused."),
    )


class InboundFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *InboundDelivery.Status.choices],
    )
    source = forms.ModelChoiceField(
        label=_("Source"),
        required=False,
        queryset=Source.objects.order_by("name"),
        empty_label=_("Any source"),
    )
    topic = forms.CharField(label=_("Topic"), required=False, max_length=60)
    received_from = forms.DateField(
        label=_("Received from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    received_to = forms.DateField(
        label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
