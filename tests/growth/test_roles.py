import importlib

import pytest
from django.contrib.auth.models import Group

from growth import navigation
from growth.roles import ROLE_CAPABILITIES, Role

# What each role finds in its menu: the contract of role-aware navigation.
EXPECTED_SECTIONS = {
    Role.MARKETER: {
        "contacts",
        "imports",
        "journeys",
        "templates",
        "deliveries",
        "surveys",
        "discount_codes",
        "inbox",
        "scoring",
        "lead_quality",
        "segments",
        "dashboards",
        "ad_spend",
    },
    Role.REP: {"queue", "my_contacts", "inbox"},
    Role.SALES_MANAGER: {
        "queue",
        "my_contacts",
        "cadences",
        "team",
        "contacts",
        "scoring",
        "lead_quality",
        "dashboards",
        "inbox",
    },
    Role.MANAGER: {"team", "contacts", "dashboards", "inbox"},
    Role.ADMIN: {
        "contacts",
        "imports",
        "users",
        "audit",
        "system",
        "sources",
        "inbound",
        "inbox",
        "api_keys",
        "webhooks",
    },
}


def test_role_migration_matches_the_role_table():
    migration = importlib.import_module("growth.migrations.0002_roles")
    frozen = {role: set(codenames) for role, codenames in migration.ROLES.items()}
    current = {role.value: {c.value for c in caps} for role, caps in ROLE_CAPABILITIES.items()}
    assert frozen == current, "roles.py changed: add a migration that updates the groups"


@pytest.mark.django_db
def test_every_role_is_a_group_with_exactly_its_capabilities():
    for role, capabilities in ROLE_CAPABILITIES.items():
        group = Group.objects.get(name=role.value)
        granted = set(group.permissions.values_list("codename", flat=True))
        assert granted == {c.value for c in capabilities}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_navigation_shows_each_role_its_sections(user_with_role, role):
    user = user_with_role(role)
    keys = {section.key for section in navigation.sections_for(user)}
    assert keys == EXPECTED_SECTIONS[role]


@pytest.mark.django_db
def test_several_roles_get_the_union(user_with_role):
    user = user_with_role(Role.REP, Role.MARKETER)
    keys = {section.key for section in navigation.sections_for(user)}
    assert keys == EXPECTED_SECTIONS[Role.REP] | EXPECTED_SECTIONS[Role.MARKETER]


@pytest.mark.django_db
def test_a_user_without_roles_sees_no_sections(user_with_role):
    assert navigation.sections_for(user_with_role()) == []
