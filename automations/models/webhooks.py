"""Outbound webhooks: another system subscribes to Growth's domain events, and each event is
one row per subscription, POSTed signed, retried with backoff, kept as a delivery log.

The catalogue is fixed (an integrator codes against it); `delivery.*` in a subscription
means every delivery event, present and future."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DELIVERY_ALL = "delivery.*"


class EventType(models.TextChoices):
    CONTACT_STAGE_CHANGED = "contact.stage_changed", _("a contact moved to another lifecycle stage")
    CONTACT_MERGED = "contact.merged", _("two contact records were merged into one")
    CONTACT_CONSENT_CHANGED = "contact.consent_changed", _("a contact's consent changed")
    SEGMENT_ENTERED = "segment.entered", _("a contact entered a segment")
    SEGMENT_EXITED = "segment.exited", _("a contact left a segment")
    ORDER_CREATED = "order.created", _("a new order arrived from a shop")
    DELIVERY_SENT = "delivery.sent", _("a message was handed to the provider")
    DELIVERY_DELIVERED = "delivery.delivered", _("a message was delivered")
    DELIVERY_OPENED = "delivery.opened", _("a message was opened")
    DELIVERY_CLICKED = "delivery.clicked", _("a link in a message was clicked")
    DELIVERY_BOUNCED = "delivery.bounced", _("a message bounced")
    DELIVERY_FAILED = "delivery.failed", _("a message could not be sent")
    DELIVERY_UNSUBSCRIBED = "delivery.unsubscribed", _("a contact unsubscribed from a message")
    DELIVERY_COMPLAINED = "delivery.complained", _("a message was marked as spam")
    SURVEY_ANSWERED = "survey.answered", _("a contact answered a survey")
    REPLY_RECEIVED = "reply.received", _("a contact replied to an e-mail or SMS")
    # Sent only by "send test event" to one subscription; nobody subscribes to it.
    PING = "ping", _("test event")


# How the subscription form groups the checkboxes.
EVENT_GROUPS: list[tuple[str | Promise, list[str]]] = [
    (
        _("Contacts"),
        [
            EventType.CONTACT_STAGE_CHANGED,
            EventType.CONTACT_MERGED,
            EventType.CONTACT_CONSENT_CHANGED,
        ],
    ),
    (_("Segments"), [EventType.SEGMENT_ENTERED, EventType.SEGMENT_EXITED]),
    (_("Orders"), [EventType.ORDER_CREATED]),
    (
        _("Deliveries"),
        [
            DELIVERY_ALL,
            EventType.DELIVERY_SENT,
            EventType.DELIVERY_DELIVERED,
            EventType.DELIVERY_OPENED,
            EventType.DELIVERY_CLICKED,
            EventType.DELIVERY_BOUNCED,
            EventType.DELIVERY_FAILED,
            EventType.DELIVERY_UNSUBSCRIBED,
            EventType.DELIVERY_COMPLAINED,
        ],
    ),
    (_("Engagement"), [EventType.SURVEY_ANSWERED, EventType.REPLY_RECEIVED]),
]
# What a subscription may list: every catalogue entry but the test event, and delivery.*.
SUBSCRIBABLE = frozenset(value for _group, values in EVENT_GROUPS for value in values)
DELIVERY_EVENTS = frozenset(
    v for v in SUBSCRIBABLE if v.startswith("delivery.") and v != DELIVERY_ALL
)


class WebhookSubscription(models.Model):
    """A receiver of some events. The secret signs every request (HMAC-SHA256); after a
    rotation the previous one stays valid, and is sent as a second signature, until
    `previous_secret_expires_at`, so the receiver can switch without losing an event."""

    name = models.CharField(_("name"), max_length=120)
    url = models.URLField(_("URL"), max_length=2000)
    event_types = ArrayField(models.CharField(max_length=40), verbose_name=_("events"))
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Why Growth turned it off (the receiver answered 410 Gone); empty when a person did.
    deactivated_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def signing_secrets(self, now: datetime | None = None) -> list[str]:
        """The current secret, then the previous one while its grace period lasts."""
        at = now or timezone.now()
        found = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at is not None
            and self.previous_secret_expires_at > at
        ):
            found.append(self.previous_secret)
        return found


class WebhookDelivery(models.Model):
    """One event for one subscription: enqueued once (`event_id` is unique per
    subscription), attempted until the receiver answers 2xx or the attempts run out."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RETRYING = "retrying", _("retrying")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event_type = models.CharField(_("event"), max_length=40)
    event_id = models.CharField(max_length=200)
    payload = models.JSONField()
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When the dispatcher may claim it next (a claim moves it on by a lease, so a lost
    # send task is retried); empty once delivered or failed.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhookdelivery_once"
            ),
        ]
        indexes = [
            # The dispatcher: due rows that still have attempts to make.
            models.Index(
                fields=["next_attempt_at"],
                name="webhookdelivery_due",
                condition=Q(status__in=["pending", "retrying"]),
            ),
            # A subscription's log, newest first (the unique constraint leads with it too,
            # but by event id).
            models.Index(fields=["subscription", "-id"], name="webhookdelivery_log"),
            # Failures in the last day, per subscription, for the list page.
            models.Index(
                fields=["subscription", "updated_at"],
                name="webhookdelivery_failing",
                condition=Q(status__in=["failed", "retrying"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.subscription_id} ({self.status})"
