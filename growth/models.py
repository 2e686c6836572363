from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
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
