from __future__ import annotations

from django.db import models
from django.db.models import Q


class Session(models.Model):
    """A visit: consecutive activity of one browser, with the source it came from."""

    contact = models.ForeignKey("leads.Contact", on_delete=models.CASCADE, related_name="sessions")
    source = models.ForeignKey("leads.Source", null=True, on_delete=models.SET_NULL)
    anonymous_id = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()
    landing_url = models.TextField(blank=True)
    referrer = models.TextField(blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    click_ids = models.JSONField(default=dict, blank=True)  # gclid / fbclid / ttclid
    channel = models.CharField(max_length=80, blank=True)  # "google / cpc", "direct", …
    page_views = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["contact", "-started_at"], name="session_contact"),
            models.Index(fields=["anonymous_id", "-last_activity_at"], name="session_browser"),
            models.Index(fields=["-started_at"], name="session_started"),
        ]

    def __str__(self) -> str:
        return f"session {self.pk}"


class Event(models.Model):
    """Something a contact did. Timelines read (contact, occurred_at) backwards."""

    contact = models.ForeignKey("leads.Contact", on_delete=models.CASCADE, related_name="events")
    source = models.ForeignKey("leads.Source", null=True, on_delete=models.SET_NULL)
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=200)
    properties = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "message_id"],
                name="event_unique_message",
                condition=~Q(message_id=""),
            )
        ]
        indexes = [
            models.Index(fields=["contact", "-occurred_at", "-id"], name="event_timeline"),
            # Covering: "did event X n times in the last d days" counts per contact from the
            # index alone (segment previews and membership at 1 M contacts / 20 M events).
            models.Index(
                fields=["name", "-occurred_at"], name="event_name_time_who", include=["contact"]
            ),
            models.Index(fields=["-occurred_at"], name="event_time"),
        ]

    def __str__(self) -> str:
        return self.name
