# CSV import of contacts: the uploaded file with its mapping and progress, and row errors.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0003_contact_search"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ContactImport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("uploaded", "uploaded"),
                            ("mapped", "queued"),
                            ("running", "running"),
                            ("done", "done"),
                            ("failed", "failed"),
                        ],
                        default="uploaded",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("file", models.BinaryField(verbose_name="file")),
                ("filename", models.CharField(max_length=255, verbose_name="file name")),
                ("size", models.PositiveBigIntegerField(default=0, verbose_name="size")),
                ("encoding", models.CharField(default="utf-8", max_length=20)),
                ("delimiter", models.CharField(default=",", max_length=1)),
                ("header", models.JSONField(blank=True, default=list)),
                ("sample", models.JSONField(blank=True, default=list)),
                ("mapping", models.JSONField(blank=True, default=dict)),
                ("rows_total", models.PositiveIntegerField(default=0, verbose_name="rows")),
                ("rows_done", models.PositiveIntegerField(default=0)),
                ("created_count", models.PositiveIntegerField(default=0, verbose_name="created")),
                ("updated_count", models.PositiveIntegerField(default=0, verbose_name="updated")),
                ("failed_count", models.PositiveIntegerField(default=0, verbose_name="failed")),
                ("skipped_count", models.PositiveIntegerField(default=0, verbose_name="skipped")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="uploaded")),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="started")),
                (
                    "finished_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="finished"),
                ),
                ("error", models.TextField(blank=True, verbose_name="error")),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="uploaded by",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="ImportRowError",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("row", models.PositiveIntegerField(verbose_name="row")),
                ("column", models.CharField(blank=True, max_length=255, verbose_name="column")),
                ("value", models.TextField(blank=True, verbose_name="value")),
                ("message", models.CharField(max_length=255, verbose_name="message")),
                (
                    "contact_import",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="row_errors",
                        to="leads.contactimport",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="contactimport",
            index=models.Index(fields=["-created_at", "-id"], name="import_recent"),
        ),
        migrations.AddIndex(
            model_name="contactimport",
            index=models.Index(
                condition=models.Q(("status__in", ["mapped", "running"])),
                fields=["status"],
                name="import_active",
            ),
        ),
        migrations.AddConstraint(
            model_name="contactimport",
            constraint=models.CheckConstraint(
                condition=models.Q(("rows_done__lte", models.F("rows_total"))),
                name="import_done_within_total",
            ),
        ),
        migrations.AddIndex(
            model_name="importrowerror",
            index=models.Index(fields=["contact_import", "row", "id"], name="import_error_row"),
        ),
    ]
