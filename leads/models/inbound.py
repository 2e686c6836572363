from __future__ import annotations

import hashlib

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Source(models.Model):
    """Where data comes from: a tracking key, a Shopify shop, a WooCommerce store, an import."""

    class Kind(models.TextChoices):
        TRACKING = "tracking", _("Tracking API / browser snippet")
        SHOPIFY = "shopify", _("Shopify")
        WOOCOMMERCE = "woocommerce", _("WooCommerce")
        IMPORT = "import", _("CSV import")
        # Message providers' callbacks (delivery events, replies, STOP keywords).
        SENDGRID = "sendgrid", _("SendGrid events")
        TWILIO = "twilio", _("Twilio callbacks")

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # Tracking sources authenticate by write key; only its SHA-256 is kept, and looked up.
    write_key_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    write_key_hint = models.CharField(max_length=12, blank=True)
    # Shop webhooks are signed with a shared secret, which we must hold to verify them.
    secret = models.CharField(max_length=200, blank=True)
    allowed_origins = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def hash_key(write_key: str) -> str:
        return hashlib.sha256(write_key.encode()).hexdigest()


class InboundDelivery(models.Model):
    """One raw inbound message, stored before anything else happens (and the dead letter)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PROCESSING = "processing", _("processing")
        PROCESSED = "processed", _("processed")
        IGNORED = "ignored", _("ignored")
        FAILED = "failed", _("failed")

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="deliveries")
    topic = models.CharField(max_length=60)  # "track", "identify", "orders/create", …
    delivery_id = models.CharField(max_length=200)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "delivery_id"], name="inbound_unique_delivery"
            ),
        ]
        indexes = [
            # The worker's claim: oldest pending first.
            models.Index(
                fields=["received_at"], name="inbound_pending", condition=Q(status="pending")
            ),
            models.Index(fields=["status", "-received_at"], name="inbound_status_recent"),
            models.Index(fields=["source", "-received_at"], name="inbound_source_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.topic}:{self.delivery_id}"
