"""A message to one contact on one channel, and the rules every send obeys (consent,
suppression, quiet hours, frequency caps) for marketing and sales alike."""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("e-mail")
    SMS = "sms", _("SMS")
    WEBHOOK = "webhook", _("webhook")  # a signed JSON POST to another system


# The channels that reach a person (templates, suppressions, consent).
MESSAGE_CHANNELS = [
    (Channel.EMAIL.value, Channel.EMAIL.label),
    (Channel.SMS.value, Channel.SMS.label),
]


class Purpose(models.TextChoices):
    # Marketing needs consent and obeys quiet hours and caps; sales (cadence touches) obeys
    # them too and shares the caps; transactional (order confirmation, shipping) needs
    # neither, only an address that is not suppressed.
    MARKETING = "marketing", _("marketing")
    SALES = "sales", _("sales")
    TRANSACTIONAL = "transactional", _("transactional")


class Delivery(models.Model):
    """One message, sent at most once: `key` (journey run + node, enrollment + step, …) is
    unique, so a retried or doubled schedule is the same row."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")  # waiting for due_at (maybe deferred)
        QUEUED = "queued", _("queued")  # claimed by the dispatcher, a send task is on its way
        # Let through by the limiter (counts against the caps); its provider call is next.
        READY = "ready", _("about to be sent")
        SENDING = "sending", _("sending")  # the provider call is under way
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        OPENED = "opened", _("opened")
        CLICKED = "clicked", _("clicked")
        BOUNCED = "bounced", _("bounced")
        COMPLAINED = "complained", _("marked as spam")
        UNSUBSCRIBED = "unsubscribed", _("unsubscribed")
        SUPPRESSED = "suppressed", _("not sent")  # consent or suppression: never will be
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    key = models.CharField(max_length=200, unique=True)
    # None only for a test send to a user's own address.
    contact = models.ForeignKey(
        "leads.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=15, choices=Purpose.choices)
    priority = models.SmallIntegerField(default=0)  # higher goes first when caps bite
    origin = models.CharField(max_length=40, blank=True)  # "journey", "cadence", "test", …
    # The journey that sent it, for the journey's message figures.
    journey = models.ForeignKey(
        "automations.Journey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_index=False,
    )
    template = models.ForeignKey(
        "automations.MessageTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED
    )
    scheduled_for = models.DateTimeField()  # when it was meant to go
    due_at = models.DateTimeField()  # when it goes: later than scheduled_for when deferred
    deferrals = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    reason = models.TextField(_("why"), blank=True)  # deferred, not sent or failed: why

    # What is sent. Rendered when scheduled, so what the contact got is on record.
    to_address = models.CharField(max_length=500, blank=True)  # e-mail, phone, or webhook URL
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)

    provider_message_id = models.CharField(max_length=100, blank=True)
    outbox = models.BooleanField(default=False)  # recorded locally: no provider configured
    sent_at = models.DateTimeField(null=True, blank=True)  # the provider call started
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            # The dispatcher: due rows, highest priority first.
            models.Index(
                fields=["due_at", "-priority"],
                name="delivery_due",
                condition=Q(status="scheduled"),
            ),
            # Frequency caps: a contact's latest capped sends on a channel. No condition on
            # sent_at, and the limiter asks none: a query with a sent_at range could also use
            # delivery_sent, which stale statistics (taken before the first send, all sent_at
            # NULL) make look as cheap, and then scans every recent send for each message.
            models.Index(
                F("contact"),
                F("channel"),
                F("sent_at").desc(nulls_last=True),
                name="delivery_capped",
                condition=Q(purpose__in=[Purpose.MARKETING, Purpose.SALES]),
            ),
            models.Index(fields=["contact", "-created_at"], name="delivery_contact"),
            models.Index(
                fields=["provider_message_id"],
                name="delivery_provider_id",
                condition=~Q(provider_message_id=""),
            ),
            # The outbox filtered by status (a rare "failed" among millions), and the
            # address search ("starts with").
            models.Index(fields=["status", "-id"], name="delivery_status_recent"),
            models.Index(
                fields=["journey", "status"],
                name="delivery_journey",
                condition=Q(journey__isnull=False),
            ),
            models.Index(
                fields=["to_address"], name="delivery_address", opclasses=["varchar_pattern_ops"]
            ),
            # Dashboards: messages sent in a period.
            models.Index(
                fields=["sent_at"], name="delivery_sent", condition=Q(sent_at__isnull=False)
            ),
            # Stuck sends (the worker died during the provider call).
            models.Index(
                fields=["sent_at"], name="delivery_sending", condition=Q(status="sending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.key} ({self.status})"


class Suppression(models.Model):
    """An address nothing is sent to: it bounced hard, complained, or was blocked by hand."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", _("hard bounce")
        COMPLAINT = "complaint", _("spam complaint")
        INVALID = "invalid", _("invalid address or number")
        MANUAL = "manual", _("blocked by hand")

    channel = models.CharField(max_length=10, choices=MESSAGE_CHANNELS)
    address = models.CharField(max_length=254)  # e-mail lower-cased, phone E.164
    reason = models.CharField(max_length=12, choices=Reason.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "address"], name="suppression_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.address}"


class SendingPolicy(models.Model):
    """The one set of sending rules (a single row): quiet hours and frequency caps."""

    allowed_from = models.TimeField(_("send from"), default=time(8))
    allowed_until = models.TimeField(_("send until"), default=time(21))
    default_time_zone = models.CharField(
        _("time zone for contacts without one"), max_length=64, default=settings.TIME_ZONE
    )
    email_per_day = models.PositiveSmallIntegerField(_("marketing e-mails a day"), default=1)
    email_per_week = models.PositiveSmallIntegerField(_("marketing e-mails a week"), default=3)
    sms_per_day = models.PositiveSmallIntegerField(_("marketing SMS a day"), default=1)
    sms_per_week = models.PositiveSmallIntegerField(_("marketing SMS a week"), default=3)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="sendingpolicy_single_row"),
            # An empty window would hold every marketing message back for ever.
            models.CheckConstraint(
                condition=~Q(allowed_from=models.F("allowed_until")),
                name="sendingpolicy_window_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return "sending policy"
