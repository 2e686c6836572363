# Predictive CLV: the last fit and every customer's prediction.

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0003_products_targets"),
        ("leads", "0014_journey_causes"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClvFit",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("fitted_at", models.DateTimeField()),
                ("customers", models.PositiveIntegerField(default=0)),
                ("repeat_buyers", models.PositiveIntegerField(default=0)),
                ("predicted", models.PositiveIntegerField(default=0)),
                ("unit_days", models.PositiveSmallIntegerField(default=7)),
                ("horizon", models.PositiveSmallIntegerField(default=52)),
                ("params", models.JSONField(blank=True, default=dict)),
                ("error", models.TextField(blank=True)),
                ("took_ms", models.PositiveIntegerField(default=0)),
            ],
            options={
                "get_latest_by": "fitted_at",
            },
        ),
        migrations.CreateModel(
            name="CustomerPrediction",
            fields=[
                (
                    "contact",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="leads.contact",
                    ),
                ),
                ("p_alive", models.FloatField()),
                ("expected_orders", models.FloatField()),
                (
                    "predicted_clv",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=14),
                ),
            ],
        ),
    ]
