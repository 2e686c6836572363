# Segments, their memberships, RFM cutoffs, and the six shipped RFM segments.

import django.contrib.postgres.fields
import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# A frozen copy of leads.services.segments.RFM_SEGMENTS (key, name, description);
# tests/leads/test_segments.py checks that the two agree.
RFM_SEGMENTS = [
    ("champions", "Champions", "Bought recently, buy often and spend the most."),
    ("loyal", "Loyal customers", "Buy regularly and recently enough: reward them."),
    ("new", "New customers", "Their first order was recent."),
    ("at_risk", "At risk", "Used to buy often, but not for a while: win them back."),
    ("hibernating", "Hibernating", "Few orders, the last one a while ago."),
    ("lost", "Lost", "Few orders, the last one long ago."),
]


def install_rfm(apps, schema_editor):
    Segment = apps.get_model("leads", "Segment")
    for key, name, description in RFM_SEGMENTS:
        if not Segment.objects.filter(rfm_key=key).exists():
            Segment.objects.create(
                name=name, description=description, kind="rfm", rfm_key=key, rules={}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0008_scoring"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RfmCutoffs",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("computed_at", models.DateTimeField()),
                ("customers", models.IntegerField(default=0)),
                (
                    "recency",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.DateTimeField(), size=None
                    ),
                ),
                (
                    "frequency",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.IntegerField(), size=None
                    ),
                ),
                (
                    "monetary",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.DecimalField(decimal_places=2, max_digits=16), size=None
                    ),
                ),
            ],
            options={"get_latest_by": "computed_at"},
        ),
        migrations.CreateModel(
            name="Segment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=120, verbose_name="name")),
                ("description", models.TextField(blank=True, verbose_name="description")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("dynamic", "dynamic"),
                            ("static", "static list"),
                            ("rfm", "RFM"),
                            ("persona", "persona"),
                        ],
                        default="dynamic",
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                ("rules", models.JSONField(blank=True, default=dict, verbose_name="rules")),
                ("rfm_key", models.CharField(blank=True, max_length=20)),
                ("volatile", models.BooleanField(default=False)),
                ("version", models.PositiveIntegerField(default=1)),
                ("member_count", models.IntegerField(default=0, verbose_name="members")),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("ready", "up to date"),
                            ("computing", "computing members"),
                            ("failed", "failed"),
                        ],
                        default="ready",
                        max_length=10,
                    ),
                ),
                ("progress_done", models.BigIntegerField(default=0)),
                ("progress_total", models.BigIntegerField(default=0)),
                ("computed_version", models.PositiveIntegerField(default=0)),
                ("computed_at", models.DateTimeField(blank=True, null=True)),
                ("problem", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
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
        ),
        migrations.CreateModel(
            name="SegmentMembership",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("entered_at", models.DateTimeField()),
                ("exited_at", models.DateTimeField(blank=True, null=True)),
                (
                    "via",
                    models.CharField(
                        choices=[
                            ("rules", "rules"),
                            ("hand", "added by hand"),
                            ("bulk", "added from the contact list"),
                            ("csv", "CSV upload"),
                            ("rfm", "RFM scores"),
                            ("merge", "contact merge"),
                        ],
                        default="rules",
                        max_length=10,
                    ),
                ),
                (
                    "added_by",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "contact",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="segment_memberships",
                        to="leads.contact",
                    ),
                ),
                (
                    "segment",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="leads.segment",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="segment",
            index=models.Index(fields=["kind", "state"], name="segment_kind"),
        ),
        migrations.AddConstraint(
            model_name="segment",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"),
                models.F("kind"),
                name="segment_unique_name",
            ),
        ),
        migrations.AddConstraint(
            model_name="segment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("rfm_key", ""), _negated=True),
                fields=("rfm_key",),
                name="segment_unique_rfm",
            ),
        ),
        migrations.AddIndex(
            model_name="segmentmembership",
            index=models.Index(fields=["segment", "-entered_at"], name="segmentmember_entered"),
        ),
        migrations.AddIndex(
            model_name="segmentmembership",
            index=models.Index(
                condition=models.Q(("exited_at__isnull", False)),
                fields=["segment", "-exited_at"],
                name="segmentmember_exited",
            ),
        ),
        migrations.AddConstraint(
            model_name="segmentmembership",
            constraint=models.UniqueConstraint(
                condition=models.Q(("exited_at__isnull", True)),
                fields=("segment", "contact"),
                name="segmentmember_current",
            ),
        ),
        migrations.RunPython(install_rfm, migrations.RunPython.noop),
    ]
