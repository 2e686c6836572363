"""The five roles of Growth and what each may do.

A role is a Django group; what it may do is a set of capabilities, which are permissions on
`growth.Capability`. Views ask for a capability, never for a role, so a user with several
roles gets the union, and a new role needs no code change in the views.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    MARKETER = "marketer", _("Marketer")
    REP = "rep", _("Sales rep")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Admin")


class Capability(models.TextChoices):
    VIEW_CONTACTS = "view_contacts", _("See contacts and their timelines")
    WORK_QUEUE = "work_queue", _("Work the lead queue")
    MANAGE_CADENCES = "manage_cadences", _("Design cadences and assign reps")
    VIEW_TEAM = "view_team", _("See the sales team board")
    MANAGE_JOURNEYS = "manage_journeys", _("Build trigger journeys")
    MANAGE_TEMPLATES = "manage_templates", _("Edit message templates")
    MANAGE_SCORING = "manage_scoring", _("Edit scoring rules and MQL/SQL definitions")
    MANAGE_SEGMENTS = "manage_segments", _("Edit segments and personas")
    VIEW_DASHBOARDS = "view_dashboards", _("Read the KPI dashboards")
    MANAGE_AD_SPEND = "manage_ad_spend", _("Import ad spend")
    MANAGE_USERS = "manage_users", _("Create users and assign roles")
    MANAGE_SOURCES = "manage_sources", _("Manage sources, API keys and webhook secrets")
    VIEW_SYSTEM = "view_system", _("See system health")
    MANAGE_DATA = "manage_data", _("Export and erase contact data")


C = Capability
ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.MARKETER: frozenset(
        {
            C.VIEW_CONTACTS,
            C.MANAGE_JOURNEYS,
            C.MANAGE_TEMPLATES,
            C.MANAGE_SCORING,
            C.MANAGE_SEGMENTS,
            C.VIEW_DASHBOARDS,
            C.MANAGE_AD_SPEND,
        }
    ),
    Role.REP: frozenset({C.WORK_QUEUE}),
    Role.SALES_MANAGER: frozenset(
        {
            C.VIEW_CONTACTS,
            C.WORK_QUEUE,
            C.MANAGE_CADENCES,
            C.VIEW_TEAM,
            C.MANAGE_SCORING,
            C.VIEW_DASHBOARDS,
        }
    ),
    Role.MANAGER: frozenset({C.VIEW_CONTACTS, C.VIEW_TEAM, C.VIEW_DASHBOARDS}),
    Role.ADMIN: frozenset(
        {C.VIEW_CONTACTS, C.MANAGE_USERS, C.MANAGE_SOURCES, C.VIEW_SYSTEM, C.MANAGE_DATA}
    ),
}


def permission_name(capability: Capability) -> str:
    """The `app_label.codename` string Django's `has_perm` expects."""
    return f"growth.{capability.value}"


def roles_with(capability: Capability) -> list[Role]:
    return [role for role, caps in ROLE_CAPABILITIES.items() if capability in caps]
