"""Message templates: an e-mail or SMS, written once per locale, personalised per contact."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from automations.models.delivery import MESSAGE_CHANNELS, Purpose


class MessageTemplate(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    channel = models.CharField(_("channel"), max_length=10, choices=MESSAGE_CHANNELS)
    purpose = models.CharField(
        _("purpose"), max_length=15, choices=Purpose.choices, default=Purpose.MARKETING
    )
    description = models.TextField(_("description"), blank=True)
    default_locale = models.CharField(_("default language"), max_length=20, default="en")
    # Marketing e-mail on a topic stops for contacts who opted out of that topic.
    topic = models.ForeignKey(
        "automations.Topic",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="templates",
        verbose_name=_("topic"),
    )
    version = models.PositiveIntegerField(default=1)  # optimistic lock for concurrent edits
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateContent(models.Model):
    """The template in one language. E-mail uses subject, preheader, html and text; SMS
    uses text only."""

    template = models.ForeignKey(MessageTemplate, on_delete=models.CASCADE, related_name="contents")
    locale = models.CharField(_("language"), max_length=20)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    preheader = models.CharField(_("preheader"), max_length=300, blank=True)
    html = models.TextField(_("HTML"), blank=True)
    text = models.TextField(_("text"), blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["template", "locale"], name="templatecontent_locale")
        ]

    def __str__(self) -> str:
        return f"{self.template_id}:{self.locale}"
