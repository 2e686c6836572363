"""The sections of Growth, registered by each app in its AppConfig.ready().

`growth` cannot import the apps (imports only go growth ← leads ← …), so apps tell it what
they offer: a label, a URL, the capability it needs, and the empty-state text that says
what will appear there and how data gets in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from growth.roles import Capability, permission_name


class Group(models.TextChoices):
    SALES = "sales", _("Sales")
    MARKETING = "marketing", _("Marketing")
    CUSTOMERS = "customers", _("Customers")
    INSIGHTS = "insights", _("Insights")
    ADMIN = "admin", _("Admin")


@dataclass(frozen=True)
class Section:
    key: str
    label: str | Promise
    url_name: str
    capability: Capability
    group: Group
    order: int
    what: str | Promise  # what will appear here
    how: str | Promise  # how data gets here
    also: Capability | None = None  # a second capability that opens it too

    def opens_for(self, user: Any) -> bool:
        return any(user.has_perm(permission_name(c)) for c in (self.capability, self.also) if c)


_sections: dict[str, Section] = {}


def register(*sections: Section) -> None:
    for section in sections:
        _sections[section.key] = section


def get(key: str) -> Section:
    return _sections[key]


def sections_for(user: Any) -> list[Section]:
    """Sections the user may open, in menu order. One permissions query per request."""
    if not user.is_authenticated:
        return []
    return sorted(
        (s for s in _sections.values() if s.opens_for(user)),
        key=lambda s: (s.order, s.key),
    )


def grouped(sections: list[Section]) -> list[tuple[Group, list[Section]]]:
    by_group: dict[Group, list[Section]] = {}
    for section in sections:
        by_group.setdefault(section.group, []).append(section)
    return [(group, by_group[group]) for group in Group if group in by_group]
