# The audit log: sign-ins, role changes, API keys, exports, erasures, webhook secrets.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("growth", "0003_currency_rate"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="at")),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("sign_in", "signed in"),
                            ("sign_in_failed", "sign-in failed"),
                            ("sign_out", "signed out"),
                            ("user_created", "user created"),
                            ("roles_changed", "roles changed"),
                            ("api_key_created", "API key created"),
                            ("api_key_revoked", "API key revoked"),
                            ("export", "data exported"),
                            ("erasure", "contact erased"),
                            ("webhook_secret_rotated", "webhook secret rotated"),
                        ],
                        max_length=32,
                        verbose_name="action",
                    ),
                ),
                ("actor_label", models.CharField(blank=True, max_length=150, verbose_name="by")),
                ("target", models.CharField(blank=True, max_length=300, verbose_name="target")),
                (
                    "ip",
                    models.GenericIPAddressField(blank=True, null=True, verbose_name="IP address"),
                ),
                ("detail", models.JSONField(blank=True, default=dict, verbose_name="detail")),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="by",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["action", "-at"], name="audit_action_at")],
            },
        ),
    ]
