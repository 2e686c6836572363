from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from growth.roles import Capability as CapabilityChoice
from growth.roles import Role


class User(AbstractUser):
    """A person who signs in to Growth. What they may do comes from their role groups."""

    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Empty: follow the browser."),
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")

    def role_names(self) -> list[str]:
        """Role labels in Role order. Reads prefetched groups when they are there."""
        names = {group.name for group in self.groups.all()}
        return [str(role.label) for role in Role if role.value in names]


class Capability(models.Model):
    """Carries the role permissions (`growth.<capability>`); it has no table of its own."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [(choice.value, str(choice.label)) for choice in CapabilityChoice]

    def __str__(self) -> str:
        return "capabilities"


class CurrencyRate(models.Model):
    """How many units of the reporting currency (GROWTH_BASE_CURRENCY) one unit of a currency
    is worth. Orders and ad spend store the rate they were converted at."""

    currency = models.CharField(_("currency"), max_length=3, primary_key=True)
    rate_to_base = models.DecimalField(
        _("rate to the reporting currency"), max_digits=16, decimal_places=8
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rate_to_base__gt=0), name="currencyrate_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate_to_base}"


class AuditEvent(models.Model):
    """Who did what that an admin must be able to account for: sign-ins, role changes, API
    keys, exports, erasures, webhook secrets. Written by `growth.audit.record`, never edited."""

    class Action(models.TextChoices):
        SIGN_IN = "sign_in", _("signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("sign-in failed")
        SIGN_OUT = "sign_out", _("signed out")
        USER_CREATED = "user_created", _("user created")
        ROLES_CHANGED = "roles_changed", _("roles changed")
        API_KEY_CREATED = "api_key_created", _("API key created")
        API_KEY_REVOKED = "api_key_revoked", _("API key revoked")
        EXPORT = "export", _("data exported")
        ERASURE = "erasure", _("contact erased")
        WEBHOOK_SECRET_ROTATED = "webhook_secret_rotated", _("webhook secret rotated")
        SOURCE_CREDENTIAL_ROTATED = "source_rotated", _("source key or secret rotated")
        WEBHOOK_DELETED = "webhook_deleted", _("webhook subscription deleted")

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
    )
    actor_label = models.CharField(_("by"), max_length=150, blank=True)  # kept if the user goes
    target = models.CharField(_("target"), max_length=300, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["action", "-at"], name="audit_action_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.actor_label}"


def api_rate_limit_default() -> int:
    """A new key's requests per minute: API_RATE_LIMIT_PER_MINUTE when it is created."""
    return int(settings.API_RATE_LIMIT_PER_MINUTE)


class ApiKey(models.Model):
    """A credential for the REST API (growth.api). Only a SHA-256 hash of the key is kept:
    keys are 32 random bytes, so a fast hash is enough and the key is shown only once."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)  # "grw_" + 8, public
    secret_hash = models.CharField(max_length=64)  # hex SHA-256 of the whole key
    # {"contacts": "write", "events": "read"}: resources of growth.api.scopes, read or write.
    scopes = models.JSONField(_("scopes"), default=dict, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        _("requests per minute"), default=api_rate_limit_default
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def status(self, now: datetime | None = None) -> str:
        """ "active", "revoked" or "expired"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or timezone.now()):
            return "expired"
        return "active"
