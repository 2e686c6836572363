"""Create the five role groups with their capabilities.

The mapping is frozen here as it stood when this migration was written; later changes to
`growth.roles.ROLE_CAPABILITIES` come with a migration of their own.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "marketer": [
        "view_contacts",
        "manage_journeys",
        "manage_templates",
        "manage_scoring",
        "manage_segments",
        "view_dashboards",
        "manage_ad_spend",
    ],
    "rep": ["work_queue"],
    "sales_manager": [
        "view_contacts",
        "work_queue",
        "manage_cadences",
        "view_team",
        "manage_scoring",
        "view_dashboards",
    ],
    "manager": ["view_contacts", "view_team", "view_dashboards"],
    "admin": ["view_contacts", "manage_users", "manage_sources", "view_system", "manage_data"],
}


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations; the groups need them now.
    app_config = apps.get_app_config("growth")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="growth", codename__in=codenames)
        )


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("growth", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
