# Generated for the analytics rollups: ad spend, attribution and the tables dashboards read.

from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("leads", "0014_journey_causes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RefreshState",
            fields=[
                ("name", models.CharField(max_length=20, primary_key=True, serialize=False)),
                ("refreshed_at", models.DateTimeField()),
                ("took_ms", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="AttributionDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("model", models.CharField(max_length=8)),
                ("channel", models.CharField(max_length=80)),
                ("campaign", models.CharField(blank=True, max_length=200)),
                (
                    "orders",
                    models.DecimalField(decimal_places=6, default=Decimal("0"), max_digits=14),
                ),
                (
                    "revenue",
                    models.DecimalField(decimal_places=4, default=Decimal("0"), max_digits=18),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["model", "day"], name="attributionday_model_day")],
            },
        ),
        migrations.CreateModel(
            name="CohortMonth",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("cohort", models.DateField()),
                ("month", models.PositiveSmallIntegerField()),
                ("channel", models.CharField(blank=True, max_length=80)),
                ("customers", models.PositiveIntegerField(default=0)),
                ("net", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=16)),
            ],
            options={
                "indexes": [models.Index(fields=["cohort", "month"], name="cohortmonth_cohort")],
            },
        ),
        migrations.CreateModel(
            name="DirtyContact",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("contact_id", models.BigIntegerField()),
                ("marked_at", models.DateTimeField()),
            ],
            options={
                "indexes": [models.Index(fields=["contact_id"], name="dirtycontact_contact")],
            },
        ),
        migrations.CreateModel(
            name="DirtyDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("sales", "sales"), ("traffic", "traffic"), ("stages", "stages")],
                        max_length=8,
                    ),
                ),
                ("day", models.DateField()),
                ("marked_at", models.DateTimeField()),
            ],
            options={
                "indexes": [models.Index(fields=["kind", "day"], name="dirtyday_kind_day")],
            },
        ),
        migrations.CreateModel(
            name="OtherCost",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("agency", "agency fees"),
                            ("tools", "tools and software"),
                            ("people", "people"),
                            ("other", "other"),
                        ],
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                (
                    "description",
                    models.CharField(blank=True, max_length=200, verbose_name="description"),
                ),
                ("starts_on", models.DateField(verbose_name="from")),
                ("ends_on", models.DateField(verbose_name="to")),
                ("channel", models.CharField(blank=True, max_length=80, verbose_name="channel")),
                ("currency", models.CharField(max_length=3, verbose_name="currency")),
                (
                    "amount",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=14),
                ),
                (
                    "amount_base",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=14),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "indexes": [models.Index(fields=["starts_on", "ends_on"], name="othercost_period")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("ends_on__gte", models.F("starts_on"))),
                        name="othercost_period_forward",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("amount__gte", 0)), name="othercost_not_negative"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="SalesDay",
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
                ("orders", models.PositiveIntegerField(default=0)),
                ("new_customers", models.PositiveIntegerField(default=0)),
                ("returned_orders", models.PositiveIntegerField(default=0)),
                (
                    "gross",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=16),
                ),
                (
                    "refunds",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=16),
                ),
                ("net", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=16)),
            ],
            options={
                "indexes": [models.Index(fields=["day", "channel"], name="salesday_day")],
            },
        ),
        migrations.CreateModel(
            name="SpendImport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "layout",
                    models.CharField(
                        choices=[
                            ("google_ads", "Google Ads export"),
                            ("meta_ads", "Meta Ads export"),
                            ("generic", "Other (map the columns)"),
                        ],
                        max_length=12,
                        verbose_name="layout",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("uploaded", "waiting for the column mapping"),
                            ("failed", "not imported: see the row report"),
                            ("done", "imported"),
                        ],
                        default="uploaded",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("file", models.BinaryField(verbose_name="file")),
                ("filename", models.CharField(max_length=255, verbose_name="file name")),
                ("header", models.JSONField(blank=True, default=list)),
                ("sample", models.JSONField(blank=True, default=list)),
                ("mapping", models.JSONField(blank=True, default=dict)),
                ("channel", models.CharField(blank=True, max_length=80, verbose_name="channel")),
                ("rows_total", models.PositiveIntegerField(default=0, verbose_name="rows")),
                ("rows_imported", models.PositiveIntegerField(default=0, verbose_name="imported")),
                ("errors", models.JSONField(blank=True, default=list)),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="uploaded")),
                (
                    "finished_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="finished"),
                ),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="AdSpend",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField(verbose_name="date")),
                ("channel", models.CharField(max_length=80, verbose_name="channel")),
                ("campaign", models.CharField(blank=True, max_length=200, verbose_name="campaign")),
                ("currency", models.CharField(max_length=3, verbose_name="currency")),
                (
                    "cost",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=14),
                ),
                (
                    "rate_to_base",
                    models.DecimalField(decimal_places=8, default=Decimal("1"), max_digits=16),
                ),
                (
                    "cost_base",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=14),
                ),
                ("clicks", models.PositiveBigIntegerField(default=0, verbose_name="clicks")),
                (
                    "impressions",
                    models.PositiveBigIntegerField(default=0, verbose_name="impressions"),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "spend_import",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="rows",
                        to="analytics.spendimport",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="StageDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("stage", models.CharField(max_length=20)),
                ("channel", models.CharField(blank=True, max_length=80)),
                ("contacts", models.PositiveIntegerField(default=0)),
            ],
            options={
                "indexes": [models.Index(fields=["day", "stage"], name="stageday_day")],
            },
        ),
        migrations.CreateModel(
            name="TrafficDay",
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
                ("sessions", models.PositiveIntegerField(default=0)),
                ("visitors", models.PositiveIntegerField(default=0)),
                ("bounces", models.PositiveIntegerField(default=0)),
                ("product_views", models.PositiveIntegerField(default=0)),
                ("carts", models.PositiveIntegerField(default=0)),
                ("checkouts", models.PositiveIntegerField(default=0)),
                ("orders", models.PositiveIntegerField(default=0)),
            ],
            options={
                "indexes": [models.Index(fields=["day", "channel"], name="trafficday_day")],
            },
        ),
        migrations.CreateModel(
            name="Attribution",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "model",
                    models.CharField(
                        choices=[
                            ("first", "first touch"),
                            ("last", "last touch"),
                            ("linear", "linear"),
                            ("position", "position-based (40/20/40)"),
                            ("decay", "time decay"),
                        ],
                        max_length=8,
                    ),
                ),
                ("channel", models.CharField(max_length=80)),
                ("campaign", models.CharField(blank=True, max_length=200)),
                ("touched_at", models.DateTimeField(null=True)),
                ("credit", models.DecimalField(decimal_places=6, max_digits=9)),
                (
                    "revenue",
                    models.DecimalField(decimal_places=4, default=Decimal("0"), max_digits=16),
                ),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="leads.order",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["order", "model"], name="attribution_order")],
            },
        ),
        migrations.CreateModel(
            name="CustomerFact",
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
                ("first_seen_at", models.DateTimeField()),
                ("first_order_at", models.DateTimeField()),
                ("first_order_day", models.DateField()),
                ("last_order_at", models.DateTimeField()),
                ("orders", models.PositiveIntegerField()),
                ("net", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=16)),
                ("channel", models.CharField(blank=True, max_length=80)),
                ("campaign", models.CharField(blank=True, max_length=200)),
                (
                    "first_order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="leads.order",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["first_order_day", "channel"], name="customer_first_day"),
                    models.Index(fields=["first_order"], name="customer_first_order"),
                ],
            },
        ),
        migrations.AddIndex(
            model_name="spendimport",
            index=models.Index(fields=["-created_at", "-id"], name="spend_import_recent"),
        ),
        migrations.AddIndex(
            model_name="adspend",
            index=models.Index(fields=["day", "channel"], name="adspend_day"),
        ),
        migrations.AddConstraint(
            model_name="adspend",
            constraint=models.UniqueConstraint(
                fields=("day", "channel", "campaign"), name="adspend_one_per_day"
            ),
        ),
        migrations.AddConstraint(
            model_name="adspend",
            constraint=models.CheckConstraint(
                condition=models.Q(("cost__gte", 0)), name="adspend_cost_not_negative"
            ),
        ),
    ]
