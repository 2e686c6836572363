# The frequency caps read a contact's latest capped sends by an index the planner cannot
# trade for delivery_sent (see Delivery.Meta). Built before the old one goes, without
# locking writes (CONCURRENTLY): sends go on during the migration.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("automations", "0011_webhook_subscriptions"),
        ("leads", "0014_journey_causes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="delivery",
            index=models.Index(
                models.F("contact"),
                models.F("channel"),
                models.OrderBy(models.F("sent_at"), descending=True, nulls_last=True),
                condition=models.Q(("purpose__in", ["marketing", "sales"])),
                name="delivery_capped",
            ),
        ),
        RemoveIndexConcurrently(model_name="delivery", name="delivery_recent"),
    ]
