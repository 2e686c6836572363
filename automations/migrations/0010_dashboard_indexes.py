# Indexes the dashboards read by, built without locking writes (CONCURRENTLY).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("automations", "0009_delivery_ready"),
        ("leads", "0014_journey_causes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("sent_at__isnull", False)),
                fields=["sent_at"],
                name="delivery_sent",
            ),
        ),
        AddIndexConcurrently(
            model_name="journeyrun",
            index=models.Index(fields=["started_at"], name="journeyrun_started"),
        ),
        AddIndexConcurrently(
            model_name="surveyanswer",
            index=models.Index(fields=["answered_at"], name="surveyanswer_answered"),
        ),
    ]
