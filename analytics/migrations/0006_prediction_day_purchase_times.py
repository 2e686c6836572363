# Predictive CLV summed per first-order day, channel, campaign and tenth of p(alive), rebuilt
# with each fit (filled here from the predictions already stored); time to purchase of the
# shipped periods, kept with the cohorts.

from decimal import Decimal

import django.contrib.postgres.fields
from django.db import migrations, models

# As analytics.services.clv.PREDICTIONS_ROLL_UP at the time of writing (a migration keeps its own).
PREDICTIONS_ROLL_UP = """
INSERT INTO analytics_predictionday (
    day, channel, campaign, alive_bucket, customers, clv, alive, orders)
SELECT cf.first_order_day, cf.channel, cf.campaign, least(width_bucket(p.p_alive, 0, 1, 10), 10),
       count(*), sum(p.predicted_clv), sum(p.p_alive), sum(p.expected_orders)
FROM analytics_customerprediction p
JOIN analytics_customerfact cf ON cf.contact_id = p.contact_id
GROUP BY 1, 2, 3, 4
"""


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_contact_day_rfm_cells"),
    ]

    operations = [
        migrations.CreateModel(
            name="PredictionDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("channel", models.CharField(blank=True, max_length=80)),
                ("campaign", models.CharField(blank=True, max_length=200)),
                ("alive_bucket", models.PositiveSmallIntegerField()),
                ("customers", models.PositiveIntegerField(default=0)),
                ("clv", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=18)),
                ("alive", models.FloatField(default=0)),
                ("orders", models.FloatField(default=0)),
            ],
            options={
                "indexes": [models.Index(fields=["day", "channel"], name="predictionday_day")],
            },
        ),
        migrations.RunSQL(sql=PREDICTIONS_ROLL_UP, reverse_sql=migrations.RunSQL.noop),
        migrations.CreateModel(
            name="PurchaseTimeSummary",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("days", models.PositiveSmallIntegerField()),
                ("end_day", models.DateField()),
                ("channel", models.CharField(max_length=80)),
                ("customers", models.PositiveIntegerField(default=0)),
                ("median", models.FloatField(null=True)),
                ("p75", models.FloatField(null=True)),
                ("p90", models.FloatField(null=True)),
                (
                    "buckets",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.PositiveIntegerField(), size=None
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("days", "end_day", "channel"), name="purchasetime_period_channel"
                    )
                ],
            },
        ),
    ]
