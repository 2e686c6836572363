# Indexes the dashboards read by, built without locking writes (CONCURRENTLY).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cadences", "0004_sla_rep"),
        ("leads", "0014_journey_causes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="enrollment",
            index=models.Index(fields=["qualified_at"], name="enrollment_qualified"),
        ),
        AddIndexConcurrently(
            model_name="enrollment",
            index=models.Index(fields=["started_at"], name="enrollment_started"),
        ),
    ]
