"""What an API key may reach: per resource, read or write (write includes read).

A key's scopes are a dict stored on the key, `{"contacts": "write", "events": "read"}`. The
resources are listed here, in the order the key form shows them; a new API resource adds
one line to RESOURCES (growth cannot import the apps, so the list lives here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class Level(models.TextChoices):
    READ = "read", gettext_lazy("read")
    WRITE = "write", gettext_lazy("read and write")


RESOURCES: dict[str, str | Promise] = {
    "contacts": gettext_lazy("Contacts (and their export, erasure and merges)"),
    "events": gettext_lazy("Events"),
    "orders": gettext_lazy("Orders"),
    "ad_spend": gettext_lazy("Ad spend"),
    "segments": gettext_lazy("Segments and their members"),
    "deliveries": gettext_lazy("Deliveries (messages sent or held)"),
    "journeys": gettext_lazy("Journeys (write: enroll contacts)"),
    "lifecycle": gettext_lazy("Lifecycle stages and scores (write: move a stage by hand)"),
    "cadences": gettext_lazy("Cadences and enrollments (write: enroll, pause, resume, stop)"),
    "kpis": gettext_lazy("KPIs (read only)"),
}


def allows(scopes: Mapping[str, Any], resource: str, level: str) -> bool:
    """Whether `scopes` reach `resource` at `level`: a write scope reads too."""
    have = scopes.get(resource)
    return have == Level.WRITE or (have == Level.READ and level == Level.READ)


def label(resource: str, level: str) -> str:
    """`contacts:read`, the way errors and the docs name a scope."""
    return f"{resource}:{level}"


def clean(scopes: Mapping[str, Any]) -> dict[str, str]:
    """Known resources at a known level, in RESOURCES order; anything else is refused."""
    unknown = sorted(set(scopes) - set(RESOURCES))
    if unknown:
        raise ValidationError(
            _("Unknown API resources: %(names)s.") % {"names": ", ".join(unknown)}
        )
    levels = {value for value, _label in Level.choices}
    cleaned = {}
    for resource in RESOURCES:
        level = scopes.get(resource) or ""
        if level and level not in levels:
            raise ValidationError(
                _("%(resource)s: the level is read or write, not %(level)s.")
                % {"resource": resource, "level": level}
            )
        if level:
            cleaned[resource] = level
    if not cleaned:
        raise ValidationError(_("Give the key at least one scope: read or write on a resource."))
    return cleaned
