# Whose SLA it was: a miss stays with the rep who missed it after a reassignment

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cadences", "0003_queue_bench_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrollment",
            name="sla_rep",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="cadences.rep",
            ),
        ),
    ]
