from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PrivacyRequest(models.Model):
    """An export or an erasure of one contact's data, kept as the record that it was done."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("export")
        ERASE = "erase", _("erasure")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    contact_id = models.BigIntegerField()  # the contact may be gone; the record stays
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    origin = models.CharField(max_length=120)  # "ui", "shopify:customers/redact", …
    export = models.JSONField(null=True, blank=True)  # the exported document, for exports
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["contact_id", "-created_at"], name="privacy_contact")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.contact_id}"
