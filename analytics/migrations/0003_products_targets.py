# Product rollups and funnel targets.

from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_dirty_triggers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ProductDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("product", models.CharField(max_length=120)),
                ("name", models.CharField(blank=True, max_length=300)),
                ("views", models.PositiveIntegerField(default=0)),
                ("adds", models.PositiveIntegerField(default=0)),
                ("abandoned", models.PositiveIntegerField(default=0)),
            ],
            options={
                "indexes": [models.Index(fields=["day"], name="productday_day")],
            },
        ),
        migrations.CreateModel(
            name="ProductSalesDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("product", models.CharField(max_length=120)),
                ("name", models.CharField(blank=True, max_length=300)),
                ("quantity", models.IntegerField(default=0)),
                (
                    "revenue",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=16),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["day"], name="productsalesday_day")],
            },
        ),
        migrations.CreateModel(
            name="FunnelTarget",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "funnel",
                    models.CharField(
                        choices=[("shop", "shop funnel"), ("lead", "lead funnel")], max_length=4
                    ),
                ),
                ("step", models.CharField(max_length=20)),
                (
                    "rate",
                    models.DecimalField(
                        decimal_places=4, max_digits=5, verbose_name="target conversion"
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("funnel", "step"), name="funneltarget_one_per_step"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("rate__gt", 0), ("rate__lte", 1)),
                        name="funneltarget_rate_share",
                    ),
                ],
            },
        ),
    ]
