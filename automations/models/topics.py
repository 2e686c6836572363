"""What marketing e-mails are about (newsletter, offers, product news), so a contact can
keep some and stop others from the preferences page."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Topic(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    description = models.CharField(_("what it is"), max_length=200, blank=True)
    active = models.BooleanField(_("offered on the preferences page"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TopicOptOut(models.Model):
    """A contact who does not want messages on this topic (e-mail consent still holds for
    the others)."""

    contact = models.ForeignKey("leads.Contact", on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="opt_outs")
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=60, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "topic"], name="topicoptout_once")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} opted out of {self.topic_id}"
