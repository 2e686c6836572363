# The events-by-name index also carries the contact, so event-count segment rules are
# answered from the index alone. Built concurrently: the event table is the biggest one.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("leads", "0011_lead_quality")]

    operations = [
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(
                fields=["name", "-occurred_at"], name="event_name_time_who", include=["contact"]
            ),
        ),
        RemoveIndexConcurrently(model_name="event", name="event_name_time"),
    ]
